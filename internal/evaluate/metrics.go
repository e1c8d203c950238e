package evaluate

import (
	"math"
	"sort"
)

// Pearson returns the Pearson correlation coefficient of x and y (scipy.stats.pearsonr).
// It returns NaN when the lengths differ, when fewer than two values are given, or
// when either side is constant (the coefficient is undefined there).
func Pearson(x, y []float64) float64 {
	n := len(x)
	if n != len(y) || n < 2 {
		return math.NaN()
	}
	if isConstant(x) || isConstant(y) {
		return math.NaN()
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	r := sxy / (math.Sqrt(sxx) * math.Sqrt(syy))
	// Clamp rounding excursions, as scipy does.
	return math.Max(-1, math.Min(1, r))
}

// isConstant reports whether every value equals the first (as scipy checks,
// exactly, before dividing by a spread that rounding would make tiny but non-zero).
func isConstant(v []float64) bool {
	for _, x := range v[1:] {
		if x != v[0] {
			return false
		}
	}
	return true
}

// Spearman returns Spearman's rank correlation of x and y (scipy.stats.spearmanr):
// the Pearson correlation of their ranks, ties receiving the average rank. It is NaN
// where Pearson is (constant input, fewer than two values).
func Spearman(x, y []float64) float64 {
	if len(x) != len(y) || len(x) < 2 {
		return math.NaN()
	}
	return Pearson(Ranks(x), Ranks(y))
}

// Ranks returns the 1-based ranks of v, ties receiving the mean of the ranks they
// span (scipy.stats.rankdata method "average").
func Ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && v[idx[j]] == v[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // mean of the 1-based ranks i+1 .. j
		for k := i; k < j; k++ {
			r[idx[k]] = avg
		}
		i = j
	}
	return r
}

// Confusion counts binary outcomes with "acceptable" as the positive class.
type Confusion struct {
	TP, FP, TN, FN int
}

// Count builds the confusion matrix of predicted against gold labels; extra
// elements of the longer slice are ignored.
func Count(gold, pred []bool) Confusion {
	var c Confusion
	for i := 0; i < len(gold) && i < len(pred); i++ {
		switch {
		case gold[i] && pred[i]:
			c.TP++
		case !gold[i] && pred[i]:
			c.FP++
		case !gold[i] && !pred[i]:
			c.TN++
		default:
			c.FN++
		}
	}
	return c
}

// N is the number of counted pairs.
func (c Confusion) N() int { return c.TP + c.FP + c.TN + c.FN }

// ratio returns a/b, or 0 when b is 0 (scikit-learn's zero_division=0).
func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Precision of the acceptable class, tp/(tp+fp); 0 when nothing is predicted
// acceptable (scikit-learn precision_score, zero_division=0).
func (c Confusion) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }

// Recall of the acceptable class, tp/(tp+fn); 0 when no gold pair is acceptable
// (scikit-learn recall_score, zero_division=0).
func (c Confusion) Recall() float64 { return ratio(c.TP, c.TP+c.FN) }

// F1 of the acceptable class, 2tp/(2tp+fp+fn); 0 when the denominator is 0
// (scikit-learn f1_score, zero_division=0).
func (c Confusion) F1() float64 { return ratio(2*c.TP, 2*c.TP+c.FP+c.FN) }

// F1Negative is the F1 of the unacceptable class, 2tn/(2tn+fn+fp); 0 when the
// denominator is 0.
func (c Confusion) F1Negative() float64 { return ratio(2*c.TN, 2*c.TN+c.FN+c.FP) }

// MacroF1 is the unweighted mean of the F1 of both classes (scikit-learn f1_score
// with average="macro" and labels=[0, 1]: a class absent from gold and predictions
// counts as F1 0).
func (c Confusion) MacroF1() float64 { return (c.F1() + c.F1Negative()) / 2 }

// MCC is the Matthews correlation coefficient; 0 when any marginal is empty
// (scikit-learn matthews_corrcoef).
func (c Confusion) MCC() float64 {
	tp, fp, tn, fn := float64(c.TP), float64(c.FP), float64(c.TN), float64(c.FN)
	den := (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
	if den == 0 {
		return 0
	}
	return (tp*tn - fp*fn) / math.Sqrt(den)
}

// Threshold applies the gate rule score >= t to every score.
func Threshold(scores []float64, t float64) []bool {
	out := make([]bool, len(scores))
	for i, s := range scores {
		out[i] = s >= t
	}
	return out
}
