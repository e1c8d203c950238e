package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthURL(t *testing.T) {
	for _, tc := range []struct{ listen, path, want, err string }{
		{":9464", "/healthz", "http://127.0.0.1:9464/healthz", ""},
		{"0.0.0.0:9464", "/readyz", "http://127.0.0.1:9464/readyz", ""},
		{"[::]:9464", "readyz", "http://127.0.0.1:9464/readyz", ""},
		{"127.0.0.1:1234", "/healthz", "http://127.0.0.1:1234/healthz", ""},
		{"10.1.2.3:9464", "/healthz", "http://10.1.2.3:9464/healthz", ""},
		{"[fd00::1]:9464", "/healthz", "http://[fd00::1]:9464/healthz", ""},
		{"", "/healthz", "", "metrics.listen is empty"},
		{"9464", "/healthz", "", "missing port"},
	} {
		got, err := healthURL(tc.listen, tc.path)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("healthURL(%q) error %v, want one containing %q", tc.listen, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("healthURL(%q, %q) = %q, %v; want %q", tc.listen, tc.path, got, err, tc.want)
		}
	}
}

func TestProbeURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			http.Error(w, "no partitions assigned", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	}))
	defer srv.Close()
	if body, err := probeURL(context.Background(), srv.URL+"/healthz"); err != nil || body != "ok" {
		t.Fatalf("healthy endpoint: %q, %v", body, err)
	}
	_, err := probeURL(context.Background(), srv.URL+"/readyz")
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "no partitions assigned") {
		t.Fatalf("not-ready endpoint: error %v, want the status and the reason", err)
	}
	srv.Close()
	if _, err := probeURL(context.Background(), srv.URL+"/healthz"); err == nil {
		t.Fatal("closed endpoint: no error")
	}
}
