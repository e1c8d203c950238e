//go:build ignore

// Linguaprobe measures lingua-go (github.com/pemistahl/lingua-go v1.4.0) on
// MLQE-PE dev MT for docs/EVAL.md: how often the detected language differs
// from tgt_lang, how precise that is against DA < 51, and its cost. Not part
// of the build (lingua-go is not a qegate dependency); run it in a scratch
// module:
//
//	mkdir /tmp/lp && cp internal/evaluate/ruleeval/linguaprobe/linguaprobe.go /tmp/lp/main.go && cd /tmp/lp
//	go mod init lp && go get github.com/pemistahl/lingua-go@v1.4.0
//	sed -i 1d main.go  # the build-ignore line
//	go build -o lp . && ./lp [low] [restricted]
//
// "low" uses lingua's low-accuracy mode; "restricted" compares only
// tgt_lang, the source language and English, as the rules package does.
package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pemistahl/lingua-go"
)

func main() {
	langs := []lingua.Language{lingua.English, lingua.German, lingua.Chinese, lingua.Estonian, lingua.Romanian, lingua.Russian, lingua.French, lingua.Spanish, lingua.Italian, lingua.Dutch, lingua.Portuguese}
	low, restricted := false, false
	for _, a := range os.Args[1:] {
		low = low || a == "low"
		restricted = restricted || a == "restricted"
	}
	b := lingua.NewLanguageDetectorBuilder().FromLanguages(langs...)
	if low {
		b = b.WithLowAccuracyMode()
	}
	t0 := time.Now()
	d := b.WithPreloadedLanguageModels().Build()
	fmt.Println("build", time.Since(t0))
	want := map[string]lingua.Language{"en": lingua.English, "de": lingua.German, "zh": lingua.Chinese,
		"et": lingua.Estonian, "ro": lingua.Romanian, "ru": lingua.Russian}
	detectors := map[string]lingua.LanguageDetector{}
	var n, wrong, wrongGood, wrongBad, nbad int
	var dur time.Duration
	for _, lp := range []string{"en-de", "en-zh", "et-en", "ne-en", "ro-en", "ru-en", "si-en"} {
		f, _ := os.Open(filepath.Join("/work/shared/mlqe-pe/da/dev", lp+".tsv"))
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		sc.Scan()
		tgt := want[strings.Split(lp, "-")[1]]
		det := d
		if restricted {
			ls := []lingua.Language{tgt, lingua.English}
			if s, ok := want[strings.Split(lp, "-")[0]]; ok && s != tgt && s != lingua.English {
				ls = append(ls, s)
			}
			if tgt == lingua.English {
				ls = append(ls, lingua.German) // lingua needs two languages
			}
			if detectors[lp] == nil {
				bb := lingua.NewLanguageDetectorBuilder().FromLanguages(ls...)
				if low {
					bb = bb.WithLowAccuracyMode()
				}
				detectors[lp] = bb.WithPreloadedLanguageModels().Build()
			}
			det = detectors[lp]
		}
		for sc.Scan() {
			c := strings.Split(sc.Text(), "\t")
			da, _ := strconv.ParseFloat(c[4], 64)
			t1 := time.Now()
			l, ok := det.DetectLanguageOf(c[2])
			dur += time.Since(t1)
			n++
			if da < 51 {
				nbad++
			}
			if ok && l != tgt {
				wrong++
				if da >= 70 {
					wrongGood++
				}
				if da < 51 {
					wrongBad++
				}
				if wrong < 15 {
					fmt.Printf("%s da=%.0f det=%v: %.80s\n", lp, da, l, c[2])
				}
			}
		}
		f.Close()
	}
	fmt.Printf("n=%d flagged=%d flagged_bad(DA<51)=%d flagged_good(DA>=70)=%d per-pair=%v\n", n, wrong, wrongBad, wrongGood, dur/time.Duration(n))
}
