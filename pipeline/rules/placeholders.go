package rules

import (
	"fmt"
	"regexp"
	"strings"
)

// Protected spans: what a translation must carry over unchanged.
var (
	urlRe    = regexp.MustCompile(`(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>"'()\[\]{}]+`)
	emailRe  = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
	braceRe  = regexp.MustCompile(`\{\{\s*[\w.\-]+\s*\}\}|\$\{[\w.\-]+\}|\{[\w.\-]*\}`)
	printfRe = regexp.MustCompile(`%(?:\d+\$)?[-+#0]*\d*(?:\.\d+)?(?:hh|ll|[hlLqjzt])?[sdifuxXoeEgGcp@]`)
	tagRe    = regexp.MustCompile(`</?([A-Za-z][A-Za-z0-9:-]*)(?:\s[^<>]*?)?\s*(/?)>`)
)

// token kinds, for reasons.
const (
	kindURL         = "URL"
	kindEmail       = "e-mail address"
	kindPlaceholder = "placeholder"
	kindTag         = "tag"
)

type protected struct {
	kind, key  string // key: the form compared between source and MT
	text       string // as written in the source, for reasons
	start, end int
}

// mayProtect is the cheap pre-check: without these characters nothing is
// protected, and most text has none of them.
func mayProtect(s string) bool {
	return strings.ContainsAny(s, "{%<@") || strings.Contains(s, "://") ||
		strings.Contains(s, "www.") || strings.Contains(s, "WWW.")
}

// findProtected lists the protected spans of s, URLs and e-mails first (a
// URL may hold "%20" or "{"), then placeholders and tags outside them.
func findProtected(s string) []protected {
	var out []protected
	taken := func(a, b int) bool {
		for _, p := range out {
			if a < p.end && b > p.start {
				return true
			}
		}
		return false
	}
	for _, m := range urlRe.FindAllStringIndex(s, -1) {
		a, b := m[0], m[1]
		for b > a && strings.IndexByte(".,;:!?", s[b-1]) >= 0 {
			b--
		}
		u := s[a:b]
		out = append(out, protected{kindURL, strings.ToLower(u), u, a, b})
	}
	for _, m := range emailRe.FindAllStringIndex(s, -1) {
		if !taken(m[0], m[1]) {
			e := s[m[0]:m[1]]
			out = append(out, protected{kindEmail, strings.ToLower(e), e, m[0], m[1]})
		}
	}
	for _, m := range braceRe.FindAllStringIndex(s, -1) {
		if !taken(m[0], m[1]) {
			t := s[m[0]:m[1]]
			out = append(out, protected{kindPlaceholder, strings.Join(strings.Fields(t), ""), t, m[0], m[1]})
		}
	}
	for _, m := range printfRe.FindAllStringIndex(s, -1) {
		a, b := m[0], m[1]
		// "100%ige", "50%d'entre": a % right after a digit or right before
		// a letter is prose, not a format verb.
		if taken(a, b) || (a > 0 && isASCIIDigit(s[a-1])) || (b < len(s) && isASCIILetter(s[b])) {
			continue
		}
		out = append(out, protected{kindPlaceholder, s[a:b], s[a:b], a, b})
	}
	for _, m := range tagRe.FindAllStringSubmatchIndex(s, -1) {
		if taken(m[0], m[1]) {
			continue
		}
		name := strings.ToLower(s[m[2]:m[3]])
		key := "<" + name + ">" // <br> and <br/> are the same tag
		if s[m[0]+1] == '/' {
			key = "</" + name + ">"
		}
		// attributes (alt text, titles) may be translated: compare names only
		out = append(out, protected{kindTag, key, s[m[0]:m[1]], m[0], m[1]})
	}
	return out
}

func isASCIIDigit(b byte) bool  { return b >= '0' && b <= '9' }
func isASCIILetter(b byte) bool { return (b|0x20) >= 'a' && (b|0x20) <= 'z' }

// checkPlaceholders rejects MT that lost a protected span of the source.
func (c *Checker) checkPlaceholders(src, mt, _, _ string) (string, bool) {
	if !mayProtect(src) {
		return "", false
	}
	sp := findProtected(src)
	if len(sp) == 0 {
		return "", false
	}
	var mp []protected
	if mayProtect(mt) {
		mp = findProtected(mt)
	}
	var missing []string
	kind := ""
	for i, p := range sp {
		if firstIndex(sp, p.key) != i {
			continue // counted with its first occurrence
		}
		if n, m := count(sp, p.key), count(mp, p.key); m < n {
			if len(missing) < 3 {
				q := fmt.Sprintf("%q", short(p.text))
				if n > 1 {
					q += fmt.Sprintf(" (%d of %d)", n-m, n)
				}
				missing = append(missing, q)
			}
			if kind == "" {
				kind = p.kind
			} else if kind != p.kind {
				kind = "placeholders/tags/URLs"
			}
		}
	}
	if len(missing) == 0 {
		return "", false
	}
	return fmt.Sprintf("%s not preserved: %s missing in MT", kind, strings.Join(missing, ", ")), true
}

func count(ps []protected, key string) int {
	n := 0
	for _, p := range ps {
		if p.key == key {
			n++
		}
	}
	return n
}

func firstIndex(ps []protected, key string) int {
	for i, p := range ps {
		if p.key == key {
			return i
		}
	}
	return -1
}

// mask blanks the protected spans of s so the number rule does not look
// inside them ("{0}", the digits of a URL).
func mask(s string) string {
	if !mayProtect(s) {
		return s
	}
	ps := findProtected(s)
	if len(ps) == 0 {
		return s
	}
	b := []byte(s)
	for _, p := range ps {
		for i := p.start; i < p.end; i++ {
			b[i] = ' '
		}
	}
	return string(b)
}
