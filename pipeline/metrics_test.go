package pipeline

import "testing"

func TestLangLabel(t *testing.T) {
	m := NewMetrics(nil)
	if got := m.langLabel("xx-yy"); got != "xx-yy" {
		t.Fatalf("without a limit: %q", got)
	}
	m.LimitLangPairs([]string{"en-de", "si-en"})
	for lp, want := range map[string]string{"en-de": "en-de", "si-en": "si-en", "tlh-de": "other", "": ""} {
		if got := m.langLabel(lp); got != want {
			t.Errorf("langLabel(%q) = %q, want %q", lp, got, want)
		}
	}
	m.LimitLangPairs(nil)
	if got := m.langLabel("tlh-de"); got != "tlh-de" {
		t.Fatalf("limit not lifted: %q", got)
	}
}
