package doclinks

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// link matches an inline Markdown link or image: [text](target) or
// [text](target "title").
var link = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// heading matches an ATX heading.
var heading = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*#*\s*$`)

// fence matches fenced code blocks, whose text is not Markdown.
var fence = regexp.MustCompile("(?ms)^\\s*```.*?^\\s*```")

// slug is the anchor GitHub derives from a heading: lower case, spaces as
// "-", punctuation other than "-" and "_" dropped.
func slug(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors lists the anchors of a Markdown file's headings.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(text, ""), -1) {
		h := strings.NewReplacer("`", "", "*", "").Replace(m[1])
		s := slug(h)
		for i := 1; out[s]; i++ { // GitHub numbers repeated headings
			s = slug(h) + "-" + string(rune('0'+i))
		}
		out[s] = true
	}
	return out
}

// TestRelativeLinksResolve: every relative link of every tracked Markdown
// file names a file or directory that exists, and a #fragment into a
// Markdown file names one of its headings.
func TestRelativeLinksResolve(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("git ls-files: %v (not a git checkout)", err)
	}
	files := strings.Fields(string(out))
	if len(files) < 5 {
		t.Fatalf("found only %d Markdown files: %v", len(files), files)
	}
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		text := fence.ReplaceAllString(string(b), "")
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			dest := filepath.Join(root, f)
			if path != "" {
				dest = filepath.Join(filepath.Dir(dest), path)
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link %q: %v", f, target, err)
					continue
				}
			}
			checked++
			if frag == "" || !strings.HasSuffix(dest, ".md") {
				continue
			}
			db, err := os.ReadFile(dest)
			if err != nil {
				t.Errorf("%s: link %q: %v", f, target, err)
				continue
			}
			if !anchors(string(db))[frag] {
				t.Errorf("%s: link %q: no heading with anchor #%s in %s", f, target, frag, filepath.Base(dest))
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative links checked")
	}
}
