package bench

import (
	"fmt"
	"github.com/qegate/qegate/scorer"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// NotesMarker starts the hand-written part of the Markdown report, which
// WriteMarkdown keeps when it regenerates the rest.
const NotesMarker = "<!-- hand-written notes below: kept by `make bench` -->"

// Targets of issue 6 (default model, 2-core machine); peak RSS of issue 19.
const (
	TargetLatencyMs = 5.0
	TargetPairsPerS = 400.0
	TargetE2E       = 0.90
	TargetHugot     = 1.5
	TargetPython    = 1.2
	TargetRSSMB     = 200.0
)

// Targets of issue 19: speed against model 1.0.0 (the v1 peer) side by
// side, and per CPU-second against the external peers.
const (
	TargetV1Default    = 1.2
	TargetV1Tier       = 1.8
	TargetHugotPerCPU  = 2.0
	TargetPythonPerCPU = 1.5
)

func peerNames(r *Result) []string {
	names := make([]string, 0, len(r.Peers))
	for n := range r.Peers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func ratio(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.2fx", *p)
}

// perCPU is pairs per CPU-second; the wall-clock rate when cores is unknown.
func perCPU(pairsPerS, cores float64) float64 {
	if cores <= 0 {
		return pairsPerS
	}
	return pairsPerS / cores
}

func ratioRange(p *Peer) string {
	if p.Ratio == nil {
		return "-"
	}
	if p.Rounds > 1 {
		return fmt.Sprintf("%.2fx [%.2f-%.2f]", *p.Ratio, p.RatioMin, p.RatioMax)
	}
	return ratio(p.Ratio)
}

func floats(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(s, ", ")
}

// WriteText prints the human summary.
func WriteText(w io.Writer, r *Result) {
	fmt.Fprintf(w, "qegate bench: %s, %d pairs from %s\n", r.Model, r.Pairs, r.Data)
	fmt.Fprintf(w, "machine: %s; onnxruntime %s\n\n", r.Machine, r.ORT)
	b := r.Batch1
	fmt.Fprintf(w, "batch 1, 1 thread (%d pairs, %.1f tokens avg): p50 %.2f ms, p99 %.2f ms, mean %.2f ms = tokenize %.3f + infer %.2f\n",
		b.N, b.MeanTokens, b.TotalP50, b.TotalP99, b.TotalMean, b.TokenizeMean, b.InferMean)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layout\trows/run\tmean rows\tpairs/s\tcores used\tpadding %\tcall p50 ms\tcall p99 ms\t")
	for _, g := range r.Grid {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.2f\t%.1f\t%.2f\t%.2f\t\n", g.Layout, g.RunBatch, g.RowsPerRun, g.PairsPerS, g.CPUCores, 100*g.PaddingShare, g.CallP50, g.CallP99)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nheadline (gate layout %s, %d pairs per call, %d rows per ORT run): %.1f pairs/s; unsorted batches of %d would be %.0f%% padding\n",
		r.Headline.Layout, r.Headline.CallPairs, r.Headline.RunBatch, r.PairsPerS, r.Headline.CallPairs, 100*r.PaddingShare)
	if r.E2EError != "" {
		fmt.Fprintf(w, "end to end: failed: %s\n", r.E2EError)
	} else {
		fmt.Fprintf(w, "end to end through Kafka (kfake): %.1f pairs/s = %.0f%% of raw (%.1f pairs/s alongside)\n", r.E2EPairsPerS, 100*r.E2EVsRaw, r.E2ERawPairsPerS)
	}
	fmt.Fprintf(w, "peak RSS: %.0f MB (%s; %.0f MB after loading, %.0f MB resident after scoring), %.0f MB (whole bench process)\n",
		r.PeakRSSMB, r.PeakRSSFrom, r.LoadPeakRSSMB, r.SteadyRSSMB, r.ProcessPeakRSSMB)
	fmt.Fprintf(w, "load average: %s at the start, %s at the end\n\n", r.LoadAvg[0], r.LoadAvg[1])
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "peer\tpairs/s\tqegate/peer\tper CPU-s\tbatch-1 p50 ms\tpeer/qegate latency\tnote")
	for _, n := range peerNames(r) {
		p := r.Peers[n]
		note := p.What
		if p.Error != "" {
			note = "ERROR: " + p.Error
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%s\t%.2f\t%s\t%s\n", n, p.PairsPerS, ratioRange(p), ratio(p.CPURatio), p.LatencyP50, ratio(p.LatencyRate), note)
	}
	_ = tw.Flush()
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// writeIssue19Targets adds the rows of issue 19's targets that the peers
// measured: the default and the 4-layer tier against model 1.0.0 (the
// tier's ratio is derived from two peers' medians: v1's ratio / l4's), the
// tier's peak RSS, and the external peers per CPU-second.
func writeIssue19Targets(w io.Writer, r *Result) {
	v1, l4 := r.Peers["v1"], r.Peers["l4"]
	ok := func(p *Peer) bool { return p != nil && p.Error == "" && p.Ratio != nil }
	if ok(v1) {
		fmt.Fprintf(w, "| default / model 1.0.0 (pairs/s) | >= %.1fx | %s | %s |\n", TargetV1Default, ratioRange(v1), verdict(*v1.Ratio >= TargetV1Default))
		if v1.LatencyRate != nil {
			fmt.Fprintf(w, "| default batch-1 p50 vs model 1.0.0's | <= | %.2f vs %.2f ms | %s |\n", v1.QegateLatencyP50, v1.LatencyP50, verdict(*v1.LatencyRate >= 1))
		}
		if ok(l4) {
			tier := *v1.Ratio / *l4.Ratio
			fmt.Fprintf(w, "| 4-layer tier / model 1.0.0 (pairs/s; v1 / l4 ratios) | >= %.1fx | %.2fx | %s |\n", TargetV1Tier, tier, verdict(tier >= TargetV1Tier))
		}
	}
	if l4 != nil && l4.PeakRSSMB > 0 {
		fmt.Fprintf(w, "| peak RSS, 4-layer tier | <= %.0f MB | %.0f MB | %s |\n", TargetRSSMB, l4.PeakRSSMB, verdict(l4.PeakRSSMB <= TargetRSSMB))
	}
	for _, t := range []struct {
		name   string
		target float64
	}{{"hugot", TargetHugotPerCPU}, {"python_ort", TargetPythonPerCPU}} {
		if p := r.Peers[t.name]; p != nil && p.CPURatio != nil {
			fmt.Fprintf(w, "| qegate / %s per CPU-second (issue 19) | >= %.1fx | %s | %s |\n", t.name, t.target, ratio(p.CPURatio), verdict(*p.CPURatio >= t.target))
		}
	}
}

// WriteMarkdown writes docs/BENCHMARKS.md's generated body: method, machine,
// numbers and targets, with the command that produced them. plotPath, when
// set, is linked relative to the Markdown file.
func WriteMarkdown(path, plotPath string, r *Result) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var sb strings.Builder
	w := &sb
	fmt.Fprintf(w, "# Benchmarks\n\n")
	fmt.Fprintf(w, "Generated by `qegate bench` (`make bench`); the command was:\n\n```sh\n%s\n```\n\n", r.Command)
	fmt.Fprintf(w, "Every number below comes from that one run (%.0f s), on the same pairs, the same machine and the same ONNX model; ", r.Seconds)
	fmt.Fprintf(w, "the machine may be shared, so compare the ratios (measured side by side) rather than the absolute rates.\n\n")
	fmt.Fprintf(w, "## Machine and inputs\n\n")
	fmt.Fprintf(w, "- CPU: %s\n- ONNX Runtime: %s (via github.com/yalue/onnxruntime_go)\n", r.Machine, r.ORT)
	fmt.Fprintf(w, "- model: %s (`%s`, %.1f MB ONNX)\n- pairs: %d from %s (language pairs interleaved)\n\n", r.Model, r.ModelDir, float64(r.ModelBytes)/1e6, r.Pairs, r.Data)
	fmt.Fprintf(w, "## Method\n\n")
	fmt.Fprintf(w, "- **Batch-1 latency (Sun et al. 2021, Table 1 protocol)**: one pair per call, one ORT session with one intra-op thread; ")
	fmt.Fprintf(w, "`Scorer.Encode` (tokenization, pair assembly) and `Scorer.Infer` (ONNX Runtime) are timed apart, after 10 warm-up pairs.\n")
	fmt.Fprintf(w, "- **Throughput**: `Scorer.Score` called with %d pairs per call (the engine's batch) by C goroutines, on S run slots x T intra-op threads (slots share one ORT session unless marked separate), ", r.Headline.CallPairs)
	fmt.Fprintf(w, "with at most R rows and at most the scorer's default padded tokens per ORT run (`Config.MaxBatch`, `Config.MaxBatchTokens` = %d unless marked; a call's pairs are sorted by length, cut where rows x longest row would pass the token bound, and split into even chunks of at most R rows; \"mean rows\" is the mean rows per run actually made); the pairs are repeated until a minimum time. ", scorer.DefaultMaxBatchTokens)
	fmt.Fprintf(w, "The headline is the gate's own configuration: scorer defaults and sessions+1 engine workers (%s; %d row(s) per ORT run).\n", r.Headline.Layout, r.Headline.RunBatch)
	fmt.Fprintf(w, "- **End to end**: the `qegate demo` path (in-process franz-go kfake broker, the gate's default configuration, kafka-go sink with acks=all) over the same pairs, timed from gate start to the last routed message; compared with the raw scorer (headline configuration, same pairs) measured right before and after it.\n")
	fmt.Fprintf(w, "- **Peak RSS**: VmHWM of %s.\n", r.PeakRSSFrom)
	fmt.Fprintf(w, "- **Shared machine**: every comparison is bracketed by qegate runs of the headline configuration on the same pairs (before and after), and compared with their mean; ")
	fmt.Fprintf(w, "the headline throughput is the median of all %d such runs (%s pairs/s). `cpu_cores_used` (process CPU time / wall time) shows how much of the machine each run actually got. Load average: %s at the start, %s at the end.\n", len(r.HeadlineSamples), floats(r.HeadlineSamples), r.LoadAvg[0], r.LoadAvg[1])
	fmt.Fprintf(w, "- **Peers**: the same pairs in the same run, in rounds (qegate, peer, qegate, ...); ratio = qegate pairs/s / peer pairs/s, the median over rounds [min-max]; ")
	fmt.Fprintf(w, "per CPU-s = the same ratio in pairs per CPU-second. External peers run at batch 1 and %d and report their better one; the model variants run through qegate's own scorer and configuration.\n\n", r.Headline.CallPairs)

	fmt.Fprintf(w, "## Results against the targets\n\n| measure | target | measured | |\n| --- | --- | --- | --- |\n")
	fmt.Fprintf(w, "| batch-1 latency p50, 1 thread | <= %.0f ms | %.2f ms (tokenize %.3f + infer %.2f mean) | %s |\n", TargetLatencyMs, r.LatencyMsP50Batch1, r.Batch1.TokenizeMean, r.Batch1.InferMean, verdict(r.LatencyMsP50Batch1 <= TargetLatencyMs))
	fmt.Fprintf(w, "| throughput, %d cores | >= %.0f pairs/s | %.1f pairs/s | %s |\n", r.Cores, TargetPairsPerS, r.PairsPerS, verdict(r.PairsPerS >= TargetPairsPerS))
	if r.E2EError == "" {
		fmt.Fprintf(w, "| end to end / raw | >= %.0f%% | %.0f%% (%.1f vs %.1f pairs/s) | %s |\n", 100*TargetE2E, 100*r.E2EVsRaw, r.E2EPairsPerS, r.E2ERawPairsPerS, verdict(r.E2EVsRaw >= TargetE2E))
	} else {
		fmt.Fprintf(w, "| end to end / raw | >= %.0f%% | failed: %s | **missed** |\n", 100*TargetE2E, r.E2EError)
	}
	for _, t := range []struct {
		name   string
		target float64
	}{{"hugot", TargetHugot}, {"python_ort", TargetPython}} {
		if p := r.Peers[t.name]; p != nil {
			got := "not measured: " + p.Error
			ok := false
			if p.Ratio != nil {
				got, ok = ratioRange(p)+" (per CPU-s: "+ratio(p.CPURatio)+")", *p.Ratio >= t.target
			}
			fmt.Fprintf(w, "| qegate / %s | >= %.1fx | %s | %s |\n", t.name, t.target, got, verdict(ok))
		}
	}
	rss := fmt.Sprintf("%.0f MB", r.PeakRSSMB)
	if r.LoadPeakRSSMB > 0 {
		rss += fmt.Sprintf(" (%.0f MB after loading, %.0f MB resident after scoring)", r.LoadPeakRSSMB, r.SteadyRSSMB)
	}
	fmt.Fprintf(w, "| peak RSS | <= %.0f MB | %s | %s |\n", TargetRSSMB, rss, verdict(r.PeakRSSMB <= TargetRSSMB))
	writeIssue19Targets(w, r)
	fmt.Fprintln(w)

	fmt.Fprintf(w, "## Throughput vs batch size and layout\n\n")
	if plotPath != "" {
		rel, err := filepath.Rel(filepath.Dir(path), plotPath)
		if err != nil {
			rel = plotPath
		}
		fmt.Fprintf(w, "![throughput vs batch size](%s)\n\n", filepath.ToSlash(rel))
	}
	fmt.Fprintf(w, "| slots x threads, callers | rows per ORT run, at most | mean rows per run | pairs/s | cores used | pairs per CPU-s | padding | call p50 ms | call p99 ms |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, g := range r.Grid {
		fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %.2f | %.0f | %.1f%% | %.2f | %.2f |\n", g.Layout, g.RunBatch, g.RowsPerRun, g.PairsPerS, g.CPUCores, perCPU(g.PairsPerS, g.CPUCores), 100*g.PaddingShare, g.CallP50, g.CallP99)
	}
	fmt.Fprintf(w, "\nBatch-1 latency (%d pairs, %.1f tokens on average): p50 %.2f ms, p99 %.2f ms, mean %.2f ms; tokenization mean %.3f ms (p50 %.3f), inference mean %.2f ms (p50 %.2f).\n",
		r.Batch1.N, r.Batch1.MeanTokens, r.Batch1.TotalP50, r.Batch1.TotalP99, r.Batch1.TotalMean, r.Batch1.TokenizeMean, r.Batch1.TokenizeP50, r.Batch1.InferMean, r.Batch1.InferP50)
	fmt.Fprintf(w, "Padding: batches of %d pairs in input order, each padded to its longest row, would be %.0f%% padding; length bucketing sorts a call's pairs before chunking (the grid's padding column: the share in the runs actually made), and at one row per run there is none.\n\n", r.Headline.CallPairs, 100*r.PaddingShare)

	fmt.Fprintf(w, "## Peers\n\n| peer | what | pairs/s (batch) | qegate / peer [min-max] | per CPU-s | batch-1 p50 ms | peer / qegate latency | peak RSS MB |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, n := range peerNames(r) {
		p := r.Peers[n]
		if p.Error != "" {
			fmt.Fprintf(w, "| %s | %s | not measured: %s | - | - | - | - | - |\n", n, p.What, p.Error)
			continue
		}
		rss := "-"
		if p.PeakRSSMB > 0 {
			rss = fmt.Sprintf("%.0f", p.PeakRSSMB)
		}
		fmt.Fprintf(w, "| %s | %s | %.1f (%d) | %s | %s | %.2f | %s | %s |\n", n, p.What, p.PairsPerS, p.Batch, ratioRange(p), ratio(p.CPURatio), p.LatencyP50, ratio(p.LatencyRate), rss)
	}
	fmt.Fprintln(w)
	// Hand-written notes below the marker survive regeneration.
	notes := NotesMarker + "\n"
	if b, err := os.ReadFile(path); err == nil {
		if i := strings.Index(string(b), NotesMarker); i >= 0 {
			notes = string(b[i:])
		}
	}
	sb.WriteString(notes)
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}

// WritePlot draws throughput vs batch size, one line per layout, with the
// peers' throughput at their batch size as points.
func WritePlot(path string, r *Result) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s, %d CPUs: pairs per CPU-second vs batch size", r.Model, r.Cores)
	p.X.Label.Text = "rows per ORT run (MaxBatch; peers: batch)"
	p.Y.Label.Text = "pairs per CPU-second (pairs/s / cores used)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, false
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Y.Min = 0
	top := 0.0
	lines := map[Layout]plotter.XYs{}
	var keys []Layout
	for _, g := range r.Grid {
		k := g.Layout
		if _, ok := lines[k]; !ok {
			keys = append(keys, k)
		}
		y := perCPU(g.PairsPerS, g.CPUCores)
		top = max(top, y)
		lines[k] = append(lines[k], plotter.XY{X: float64(g.RunBatch), Y: y})
	}
	palette := []color.Color{color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255}, color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}}
	for i, k := range keys {
		l, pts, err := plotter.NewLinePoints(lines[k])
		if err != nil {
			return err
		}
		c := palette[i%len(palette)]
		l.Color, pts.Color = c, c
		p.Add(l, pts)
		p.Legend.Add("qegate "+k.String(), l, pts)
	}
	for i, n := range peerNames(r) {
		pr := r.Peers[n]
		if pr.PairsPerS <= 0 || pr.Batch <= 0 {
			continue
		}
		y := perCPU(pr.PairsPerS, pr.CPUCores)
		top = max(top, y)
		s, err := plotter.NewScatter(plotter.XYs{{X: float64(pr.Batch) * (1 + 0.04*float64(i)), Y: y}})
		if err != nil {
			return err
		}
		s.Shape = plotShapes[i%len(plotShapes)]
		s.Radius = vg.Points(4)
		p.Add(s)
		p.Legend.Add(n, s)
	}
	p.Add(plotter.NewGrid())
	p.Y.Max = 1.6 * top // room for the legend
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}

var plotShapes = []draw.GlyphDrawer{draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{}, draw.PyramidGlyph{}, draw.PlusGlyph{}, draw.RingGlyph{}}
