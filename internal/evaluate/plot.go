package evaluate

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Plot writes two PNGs per language pair into dir (created if missing):
// <lp>-scatter.png, the correlation output against the gold z or DA, and
// <lp>-pr.png, precision-recall curves of the at51 and at70 outputs with the
// operating point of the model's threshold marked. It returns the files written.
func Plot(dir string, m *ManifestView, rows []Row, outputs [][]float32) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	groups := Group(rows, m.Scored(outputs))
	lps := make([]string, 0, len(groups))
	for lp := range groups {
		lps = append(lps, lp)
	}
	sort.Strings(lps)
	corrIdx := m.CorrelationIndex()
	boolCut := m.BoolCut()
	var files []string
	for _, lp := range lps {
		idx := groups[lp]
		// Scatter.
		var xy plotter.XYs
		goldName := "DA"
		for _, i := range idx {
			if rows[i].Z != nil {
				goldName = "z_mean" // as in Evaluate: z when the pair has it, else DA
				break
			}
		}
		for _, i := range idx {
			y := float64(outputs[i][corrIdx])
			switch {
			case goldName == "z_mean" && rows[i].Z != nil:
				xy = append(xy, plotter.XY{X: *rows[i].Z, Y: y})
			case goldName == "DA" && rows[i].DA != nil:
				xy = append(xy, plotter.XY{X: *rows[i].DA, Y: y})
			}
		}
		if len(xy) > 0 {
			p := plot.New()
			p.Title.Text = fmt.Sprintf("%s: predicted vs gold (n=%d)", lp, len(xy))
			p.X.Label.Text = "gold " + goldName
			p.Y.Label.Text = "predicted " + m.Outputs[corrIdx].Name
			s, err := plotter.NewScatter(xy)
			if err != nil {
				return files, fmt.Errorf("plot %s scatter: %w", lp, err)
			}
			s.GlyphStyle.Radius = vg.Points(1.5)
			s.GlyphStyle.Shape = draw.CircleGlyph{}
			s.GlyphStyle.Color = color.RGBA{R: 31, G: 119, B: 180, A: 160}
			p.Add(plotter.NewGrid(), s)
			f := filepath.Join(dir, lp+"-scatter.png")
			if err := p.Save(5*vg.Inch, 5*vg.Inch, f); err != nil {
				return files, fmt.Errorf("plot %s scatter: %w", lp, err)
			}
			files = append(files, f)
		}

		// Precision-recall curves.
		p := plot.New()
		p.Title.Text = lp + ": precision-recall"
		p.X.Label.Text = "recall"
		p.Y.Label.Text = "precision"
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1.02
		p.Add(plotter.NewGrid())
		p.Legend.Top = false
		drawn := false
		for k, c := range []struct {
			cut float64
			idx int
		}{{Cut51, m.ClassifierFor(Cut51)}, {Cut70, m.ClassifierFor(Cut70)}} {
			var scores []float32
			var gold []bool
			for _, i := range idx {
				if a, ok := GoldAt(rows[i], c.cut, boolCut); ok {
					scores = append(scores, outputs[i][c.idx])
					gold = append(gold, a)
				}
			}
			curve := Curve(scores, gold)
			if len(curve) == 0 || curve[len(curve)-1].TP+curve[len(curve)-1].FN == 0 {
				continue
			}
			pts := plotter.XYs{{X: 0, Y: curve[0].Precision}}
			for _, q := range curve {
				pts = append(pts, plotter.XY{X: q.Recall, Y: q.Precision})
			}
			l, err := plotter.NewLine(pts)
			if err != nil {
				return files, fmt.Errorf("plot %s pr: %w", lp, err)
			}
			l.Color = plotutilColor(k)
			l.Width = vg.Points(1.5)
			o := m.Outputs[c.idx]
			cm := Count(gold, Threshold(f32to64(scores), float64(o.Threshold(lp))))
			op, err := plotter.NewScatter(plotter.XYs{{X: cm.Recall(), Y: cm.Precision()}})
			if err != nil {
				return files, fmt.Errorf("plot %s pr: %w", lp, err)
			}
			op.GlyphStyle.Color = l.Color
			op.GlyphStyle.Radius = vg.Points(4)
			op.GlyphStyle.Shape = draw.CrossGlyph{}
			p.Add(l, op)
			p.Legend.Add(fmt.Sprintf("DA>=%g (%s), x = threshold %.3g", c.cut, o.Name, o.Threshold(lp)), l)
			drawn = true
		}
		if drawn {
			f := filepath.Join(dir, lp+"-pr.png")
			if err := p.Save(5*vg.Inch, 5*vg.Inch, f); err != nil {
				return files, fmt.Errorf("plot %s pr: %w", lp, err)
			}
			files = append(files, f)
		}
	}
	return files, nil
}

func plotutilColor(i int) color.Color {
	cs := []color.Color{color.RGBA{R: 31, G: 119, B: 180, A: 255}, color.RGBA{R: 214, G: 39, B: 40, A: 255}}
	return cs[i%len(cs)]
}

func f32to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
