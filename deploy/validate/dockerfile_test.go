package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDockerfile(t *testing.T) {
	f := imageFacts(t)
	if f.MetricsPort != 9464 || f.ConfigPath != "/etc/qegate/qegate.yaml" || f.User != "10001:10001" {
		t.Fatalf("image facts %+v: want metrics port 9464, config /etc/qegate/qegate.yaml, user 10001:10001", f)
	}
}

// TestDockerfileRejects mutates the real Dockerfile (and its dockerignore)
// one way at a time in a temporary copy; each mutation must be caught.
func TestDockerfileRejects(t *testing.T) {
	r := repo(t)
	orig, err := os.ReadFile(filepath.Join(r, "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	ignore, err := os.ReadFile(filepath.Join(r, "deploy", "Dockerfile.dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, old, new string
		ignore         func(string) string
		want           []string
	}{
		{name: "root user", old: "USER 10001:10001", new: "USER root", want: []string{`USER "root"`}},
		{name: "named user", old: "USER 10001:10001", new: "USER qegate", want: []string{"numeric uid"}},
		{name: "no user", old: "USER 10001:10001\n", new: "", want: []string{`USER ""`}},
		{name: "shell-form entrypoint", old: `ENTRYPOINT ["qegate"]`, new: `ENTRYPOINT qegate`, want: []string{"shell form"}},
		{name: "model not copied", old: "COPY --from=build /src/models/default/ /opt/qegate/models/default/\n", new: "", want: []string{"default model at /opt/qegate/models/default"}},
		{name: "ORT not where baked", old: "ORT_LIB=/opt/qegate/lib/libonnxruntime.so ", new: "ORT_LIB=/usr/lib/libonnxruntime.so ", want: []string{"ONNX Runtime at /usr/lib/libonnxruntime.so"}},
		{name: "paths not baked", old: "ORT_LIB=/opt/qegate/lib/libonnxruntime.so ", new: "", want: []string{"make build ORT_LIB="}},
		{name: "expose differs", old: "EXPOSE 9464", new: "EXPOSE 8080", want: []string{"metrics port 9464"}},
		{name: "cmd config path", old: `CMD ["run", "--config", "/etc/qegate/qegate.yaml"]`, new: `CMD ["run"]`, want: []string{"CMD"}},
		{name: "alpine runtime", old: "FROM debian:${DEBIAN}-slim AS runtime", new: "FROM alpine:3 AS runtime", want: []string{"FROM alpine:3"}},
		{name: "single stage", old: "", new: "", want: []string{"multi-stage"}},
		{name: "missing script", old: "bash deploy/setup/onnxruntime.sh", new: "bash deploy/setup/ort.sh", want: []string{"deploy/setup/ort.sh, which does not exist"}},
		{name: "unknown stage", old: "COPY --from=ort ", new: "COPY --from=onnx ", want: []string{"--from=onnx"}},
		{name: "stale ORT version", old: "ARG ORT_VERSION=1.30.0", new: "ARG ORT_VERSION=1.24.3", want: []string{"ORT_VERSION=1.24.3"}},
		{name: "build stage without ORT_VERSION", old: "ARG VERSION=dev\nARG ORT_VERSION\n", new: "ARG VERSION=dev\n", want: []string{"without ARG ORT_VERSION"}},
		{name: "stage ORT default", old: "AS ort\nARG ORT_VERSION\n", new: "AS ort\nARG ORT_VERSION=1.30.0\n", want: []string{"sets its own ORT_VERSION default"}},
		{name: "old Go", old: "ARG GO_VERSION=1.26.8", new: "ARG GO_VERSION=1.25.1", want: []string{"older than go.mod"}},
		{name: "lint warning", old: "FROM go AS build", new: "FROM go as build", want: []string{"FromAsCasing"}},
		{name: "models ignored", old: "", new: "", ignore: func(s string) string { return s + "models\n" }, want: []string{"excluded by the dockerignore"}},
		{name: "gitignored scratch not ignored", old: "", new: "", ignore: func(s string) string { return strings.Replace(s, "train/.work\n", "", 1) }, want: []string{"train/.work is not excluded (.gitignore: /train/.work/)"}},
		{name: "cache not ignored", old: "", new: "", ignore: func(s string) string { return strings.Replace(s, ".cache\n", "", 1) }, want: []string{".cache is not excluded"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			df := string(orig)
			switch {
			case tc.name == "single stage":
				df = "FROM debian:bookworm-slim\nUSER 10001\nENTRYPOINT [\"qegate\"]\n"
			case tc.old != "":
				if !strings.Contains(df, tc.old) {
					t.Fatalf("Dockerfile no longer contains %q; update the test", tc.old)
				}
				df = strings.Replace(df, tc.old, tc.new, 1)
			}
			ig := string(ignore)
			if tc.ignore != nil {
				ig = tc.ignore(ig)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "Dockerfile")
			if err := os.WriteFile(path, []byte(df), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path+".dockerignore", []byte(ig), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := CheckDockerfile(DockerfileSetup{Repo: r, Dockerfile: path})
			wantErr(t, err, tc.want...)
		})
	}
}
