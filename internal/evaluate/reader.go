package evaluate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/qegate/qegate/internal/qe"
)

// Row is one labelled (source, MT) pair. Labels that the input does not carry are nil.
type Row struct {
	File    string // file the row came from
	Line    int    // 1-based line number in File
	Src     string
	MT      string
	SrcLang string
	TgtLang string
	// DA is the mean direct-assessment score on 0-100 (MLQE-PE `mean`, JSONL `da`).
	DA *float64
	// Z is the mean DA z-score (MLQE-PE `z_mean`, JSONL `z`).
	Z *float64
	// Acceptable is a boolean gold decision (JSONL `acceptable`).
	Acceptable *bool
	// Critical is the gold critical-error label (WMT21 CED `label`: ERR is
	// true, NOT false; JSONL `critical`).
	Critical *bool
}

// LangPair is the row's language pair, e.g. "en-de".
func (r Row) LangPair() string { return r.SrcLang + "-" + r.TgtLang }

// BadRow is an input row that was skipped, with the reason.
type BadRow struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// String formats the bad row as "file:line: reason".
func (b BadRow) String() string { return fmt.Sprintf("%s:%d: %s", b.File, b.Line, b.Reason) }

// Data is what ReadPath found: the usable rows, the skipped ones and notes
// (files ignored, columns missing).
type Data struct {
	Rows    []Row
	BadRows []BadRow
	Notes   []string
}

// maxLine bounds one input line; longer lines make the file unreadable.
const maxLine = 16 << 20

var lpInName = regexp.MustCompile(`([a-z]{2,3})[-_]([a-z]{2,3})`)

// LangPairFromName infers the language pair from a file name such as
// "en-de.tsv" or "dev.ro_en.tsv" (the last "xx-yy" or "xx_yy" part of the base name).
func LangPairFromName(name string) (src, tgt string, ok bool) {
	base := strings.ToLower(filepath.Base(name))
	m := lpInName.FindAllStringSubmatch(base, -1)
	if len(m) == 0 {
		return "", "", false
	}
	last := m[len(m)-1]
	return last[1], last[2], true
}

// ReadPath reads one labelled file or every *.tsv and *.jsonl file in a directory
// (not recursive, in name order). Rows that cannot be used are returned in BadRows
// and the rest is still read; an error means that nothing usable could be read
// from a file (it cannot be opened, has no header, or its name gives no language pair).
func ReadPath(path string) (*Data, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read data: %w", err)
	}
	d := &Data{}
	if !st.IsDir() {
		if err := d.readFile(path); err != nil {
			return nil, err
		}
		return d, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("read data directory: %w", err)
	}
	var files []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".tsv", ".jsonl":
			files = append(files, filepath.Join(path, e.Name()))
		default:
			d.Notes = append(d.Notes, fmt.Sprintf("ignored %s: not .tsv or .jsonl", filepath.Join(path, e.Name())))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("read data directory %s: no .tsv or .jsonl files", path)
	}
	for _, f := range files {
		if err := d.readFile(f); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (d *Data) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read data: %w", err)
	}
	defer f.Close()
	if strings.EqualFold(filepath.Ext(path), ".jsonl") {
		err = d.readJSONL(path, f)
	} else {
		err = d.readTSV(path, f)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

func newScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return sc
}

func (d *Data) bad(file string, line int, format string, args ...any) {
	d.BadRows = append(d.BadRows, BadRow{File: file, Line: line, Reason: fmt.Sprintf(format, args...)})
}

// parseLabel parses a label cell: a finite number; da must lie in [0, 100].
func parseLabel(name, cell string, isDA bool) (*float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not a number", name, cell)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("%s %q is not finite", name, cell)
	}
	if isDA && (v < 0 || v > 100) {
		return nil, fmt.Errorf("%s %v is outside [0, 100]", name, v)
	}
	return &v, nil
}

// parseCED parses a WMT21 CED label cell: ERR (a critical error) or NOT.
func parseCED(cell string) (*bool, error) {
	switch strings.ToUpper(strings.TrimSpace(cell)) {
	case "ERR":
		v := true
		return &v, nil
	case "NOT":
		v := false
		return &v, nil
	}
	return nil, fmt.Errorf("label %q is not ERR or NOT", cell)
}

// checkText reports why a text field cannot be scored, or "" when it can:
// the gate's own check (qe.CheckText), so eval skips exactly what the gate
// would dead-letter.
func checkText(name, s string) string {
	switch err := qe.CheckText(s); {
	case err == nil:
		return ""
	case errors.Is(err, qe.ErrInvalidUTF8):
		return name + " is not valid UTF-8"
	case errors.Is(err, qe.ErrNULByte):
		return name + " contains a NUL byte"
	default:
		return name + " is empty"
	}
}

// readTSV reads an MLQE-PE style file: a header naming the columns, tab-separated
// fields, no quoting (fields may hold literal `"`).
func (d *Data) readTSV(path string, r io.Reader) error {
	src, tgt, ok := LangPairFromName(path)
	if !ok {
		return errors.New("cannot infer the language pair from the file name (want e.g. en-de.tsv)")
	}
	sc := newScanner(r)
	line := 0
	var header []string
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		header = strings.Split(text, "\t")
		break
	}
	if header == nil {
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read header: %w", err)
		}
		return errors.New("no header line")
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	iSrc, okSrc := col["original"]
	iMT, okMT := col["translation"]
	if !okSrc || !okMT {
		return fmt.Errorf("header lacks the %q and %q columns", "original", "translation")
	}
	iDA, hasDA := col["mean"]
	iZ, hasZ := col["z_mean"]
	iCrit, hasCrit := col["label"] // WMT21 CED: ERR or NOT
	if !hasDA && !hasZ && !hasCrit {
		d.Notes = append(d.Notes, fmt.Sprintf("%s: no %q, %q or %q column: no labels", path, "mean", "z_mean", "label"))
	}
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		fields := strings.Split(text, "\t")
		if len(fields) != len(header) {
			d.bad(path, line, "%d columns, header has %d", len(fields), len(header))
			continue
		}
		row := Row{File: path, Line: line, Src: fields[iSrc], MT: fields[iMT], SrcLang: src, TgtLang: tgt}
		if why := checkText("original", row.Src); why != "" {
			d.bad(path, line, "%s", why)
			continue
		}
		if why := checkText("translation", row.MT); why != "" {
			d.bad(path, line, "%s", why)
			continue
		}
		var err error
		if hasDA {
			if row.DA, err = parseLabel("mean", fields[iDA], true); err != nil {
				d.bad(path, line, "%v", err)
				continue
			}
		}
		if hasZ {
			if row.Z, err = parseLabel("z_mean", fields[iZ], false); err != nil {
				d.bad(path, line, "%v", err)
				continue
			}
		}
		if hasCrit {
			if row.Critical, err = parseCED(fields[iCrit]); err != nil {
				d.bad(path, line, "%v", err)
				continue
			}
		}
		d.Rows = append(d.Rows, row)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", line+1, err)
	}
	return nil
}

// jsonlRow is one JSONL record; `mean` and `z_mean` are accepted as aliases of
// `da` and `z`.
type jsonlRow struct {
	Src        *string          `json:"src"`
	MT         *string          `json:"mt"`
	SrcLang    *string          `json:"src_lang"`
	TgtLang    *string          `json:"tgt_lang"`
	DA         *json.RawMessage `json:"da"`
	Mean       *json.RawMessage `json:"mean"`
	Z          *json.RawMessage `json:"z"`
	ZMean      *json.RawMessage `json:"z_mean"`
	Acceptable *json.RawMessage `json:"acceptable"`
	Critical   *json.RawMessage `json:"critical"`
}

// jsonNumber decodes a JSON number label; null counts as absent.
func jsonNumber(name string, raw *json.RawMessage, isDA bool) (*float64, error) {
	if raw == nil || string(*raw) == "null" {
		return nil, nil
	}
	var v float64
	if err := json.Unmarshal(*raw, &v); err != nil {
		return nil, fmt.Errorf("%s %s is not a number", name, *raw)
	}
	if isDA && (v < 0 || v > 100) {
		return nil, fmt.Errorf("%s %v is outside [0, 100]", name, v)
	}
	return &v, nil
}

func (d *Data) readJSONL(path string, r io.Reader) error {
	fileSrc, fileTgt, fileLP := LangPairFromName(path)
	sc := newScanner(r)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if !utf8.Valid(b) {
			d.bad(path, line, "not valid UTF-8")
			continue
		}
		var j jsonlRow
		if err := json.Unmarshal(b, &j); err != nil {
			d.bad(path, line, "invalid JSON: %v", err)
			continue
		}
		row := Row{File: path, Line: line}
		if j.Src == nil || j.MT == nil {
			d.bad(path, line, "missing src or mt")
			continue
		}
		row.Src, row.MT = *j.Src, *j.MT
		if j.SrcLang != nil && j.TgtLang != nil && *j.SrcLang != "" && *j.TgtLang != "" {
			row.SrcLang, row.TgtLang = *j.SrcLang, *j.TgtLang
		} else if fileLP {
			row.SrcLang, row.TgtLang = fileSrc, fileTgt
		} else {
			d.bad(path, line, "missing src_lang or tgt_lang")
			continue
		}
		if why := checkText("src", row.Src); why != "" {
			d.bad(path, line, "%s", why)
			continue
		}
		if why := checkText("mt", row.MT); why != "" {
			d.bad(path, line, "%s", why)
			continue
		}
		var err error
		da := j.DA
		if da == nil {
			da = j.Mean
		}
		if row.DA, err = jsonNumber("da", da, true); err != nil {
			d.bad(path, line, "%v", err)
			continue
		}
		z := j.Z
		if z == nil {
			z = j.ZMean
		}
		if row.Z, err = jsonNumber("z", z, false); err != nil {
			d.bad(path, line, "%v", err)
			continue
		}
		if j.Acceptable != nil && string(*j.Acceptable) != "null" {
			var a bool
			if err := json.Unmarshal(*j.Acceptable, &a); err != nil {
				d.bad(path, line, "acceptable %s is not a boolean", *j.Acceptable)
				continue
			}
			row.Acceptable = &a
		}
		if j.Critical != nil && string(*j.Critical) != "null" {
			var c bool
			if err := json.Unmarshal(*j.Critical, &c); err != nil {
				d.bad(path, line, "critical %s is not a boolean", *j.Critical)
				continue
			}
			row.Critical = &c
		}
		if row.DA == nil && row.Z == nil && row.Acceptable == nil && row.Critical == nil {
			d.bad(path, line, "no label (da, z, acceptable or critical)")
			continue
		}
		d.Rows = append(d.Rows, row)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", line+1, err)
	}
	return nil
}
