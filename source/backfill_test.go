package source_test

import (
	"strings"
	"testing"

	"github.com/qegate/qegate/source"
)

func TestParseBound(t *testing.T) {
	tests := []struct {
		in      string
		start   bool
		kind    string
		offsets map[int]int64
		wantErr string
	}{
		{in: "", start: true, kind: "earliest"},
		{in: "", start: false, kind: "latest"},
		{in: "earliest", start: true, kind: "earliest"},
		{in: "now", start: false, kind: "latest"},
		{in: "latest", start: false, kind: "latest"},
		{in: "2026-11-30T12:00:00Z", start: true, kind: "time"},
		{in: "2026-11-30T12:00:00+01:00", start: false, kind: "time"},
		{in: "0:100,2:5", start: true, kind: "offsets", offsets: map[int]int64{0: 100, 2: 5}},
		{in: "now", start: true, wantErr: "empty range"},
		{in: "earliest", start: false, wantErr: "empty range"},
		{in: "0:1,0:2", start: true, wantErr: "given twice"},
		{in: "yesterday", start: true, wantErr: "RFC 3339"},
		{in: "1:-4", start: false, wantErr: "partition:offset"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			b, err := source.ParseBound(tc.in, tc.start)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.Kind != tc.kind {
				t.Fatalf("kind %q, want %q", b.Kind, tc.kind)
			}
			if tc.kind == "time" && b.Time.IsZero() {
				t.Fatal("time not parsed")
			}
			for p, o := range tc.offsets {
				if b.Offsets[p] != o || len(b.Offsets) != len(tc.offsets) {
					t.Fatalf("offsets %v, want %v", b.Offsets, tc.offsets)
				}
			}
		})
	}
}
