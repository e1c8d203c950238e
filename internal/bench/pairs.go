package bench

import (
	"encoding/json"
	"fmt"

	"github.com/qegate/qegate/internal/demo"
	"github.com/qegate/qegate/internal/evaluate"
	"github.com/qegate/qegate/internal/qe"
)

// benchPairs reads the data set and takes n valid pairs, interleaving the
// language pairs (row i of each file in turn) so any prefix mixes them.
func benchPairs(flag string, n int) ([]qe.Pair, string, error) {
	var rows []evaluate.Row
	source := ""
	if dir := evaluate.FindData(flag); dir != "" {
		data, err := evaluate.ReadPath(dir)
		if err != nil {
			return nil, "", fmt.Errorf("bench: read %s: %w", dir, err)
		}
		rows, source = data.Rows, "MLQE-PE dev ("+dir+")"
	} else if flag != "" {
		data, err := evaluate.ReadPath(flag)
		if err != nil {
			return nil, "", fmt.Errorf("bench: read %s: %w", flag, err)
		}
		rows, source = data.Rows, flag
	} else {
		msgs, src, err := demo.LoadMessages("", 0)
		if err != nil {
			return nil, "", err
		}
		source = src
		for _, m := range msgs {
			var v struct{ Src, MT, SrcLang, TgtLang string }
			var raw map[string]any
			if m.LangPair == "" || json.Unmarshal(m.Value, &raw) != nil {
				continue
			}
			v.Src, _ = raw["src"].(string)
			v.MT, _ = raw["mt"].(string)
			v.SrcLang, _ = raw["src_lang"].(string)
			v.TgtLang, _ = raw["tgt_lang"].(string)
			rows = append(rows, evaluate.Row{Src: v.Src, MT: v.MT, SrcLang: v.SrcLang, TgtLang: v.TgtLang})
		}
	}
	byLP := map[string][]qe.Pair{}
	var order []string
	for _, r := range rows {
		p := qe.Pair{Src: r.Src, MT: r.MT, SrcLang: r.SrcLang, TgtLang: r.TgtLang}
		if qe.ValidatePair(p) != nil {
			continue
		}
		lp := p.LangPair()
		if _, ok := byLP[lp]; !ok {
			order = append(order, lp)
		}
		byLP[lp] = append(byLP[lp], p)
	}
	var all []qe.Pair
	for i := 0; ; i++ {
		added := false
		for _, lp := range order {
			if i < len(byLP[lp]) {
				all, added = append(all, byLP[lp][i]), true
			}
		}
		if !added {
			break
		}
	}
	if len(all) == 0 {
		return nil, "", fmt.Errorf("bench: no usable pairs in %s", source)
	}
	out := make([]qe.Pair, n)
	for i := range out {
		out[i] = all[i%len(all)]
	}
	return out, source, nil
}
