package validate

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Dockerfile is a parsed Dockerfile: BuildKit's own parser and instruction
// decoder, with its linter's warnings (the ones `docker build` prints).
type Dockerfile struct {
	Stages   []instructions.Stage
	MetaArgs map[string]string // ARGs before the first FROM, with defaults
	Warnings []string
}

// ParseDockerfile parses data with BuildKit's dockerfile frontend.
func ParseDockerfile(data []byte) (*Dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("dockerfile: %w", err)
	}
	d := &Dockerfile{MetaArgs: map[string]string{}}
	for _, w := range res.Warnings {
		d.Warnings = append(d.Warnings, w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, _ []parser.Range) {
		d.Warnings = append(d.Warnings, rule+": "+msg)
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		return nil, fmt.Errorf("dockerfile: %w", err)
	}
	d.Stages = stages
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				d.MetaArgs[kv.Key] = *kv.Value
			}
		}
	}
	return d, nil
}

var argRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

// expand substitutes meta ARG defaults (FROM lines may use only those).
func (d *Dockerfile) expand(s string) string {
	return argRef.ReplaceAllStringFunc(s, func(m string) string {
		return d.MetaArgs[argRef.FindStringSubmatch(m)[1]]
	})
}

// stageArg returns the default of an ARG declared in a stage.
func stageArg(st instructions.Stage, name string) (string, bool) {
	for _, c := range st.Commands {
		if a, ok := c.(*instructions.ArgCommand); ok {
			for _, kv := range a.Args {
				if kv.Key == name && kv.Value != nil {
					return *kv.Value, true
				}
			}
		}
	}
	return "", false
}

// stageDeclares reports whether a stage declares ARG name (with or
// without a default), which makes a meta ARG visible in it.
func stageDeclares(st instructions.Stage, name string) bool {
	for _, c := range st.Commands {
		if a, ok := c.(*instructions.ArgCommand); ok {
			for _, kv := range a.Args {
				if kv.Key == name {
					return true
				}
			}
		}
	}
	return false
}

// DockerfileSetup names the files CheckDockerfile reads.
type DockerfileSetup struct {
	Repo       string // build context: the repository root
	Dockerfile string // deploy/Dockerfile
}

// ImageFacts are what other checks need from the image.
type ImageFacts struct {
	MetricsPort int    // EXPOSE, equal to ENV QEGATE_METRICS_LISTEN's port
	ConfigPath  string // where configs/qegate.yaml is copied (the CMD's --config)
	User        string
}

// CheckDockerfile parses the Dockerfile and checks the image it describes:
// multi-stage, a non-root final USER, ENTRYPOINT ["qegate"] and the CMD
// running the copied config, the binary, ONNX Runtime and the default
// model copied into the final stage at the paths `make build` baked in,
// EXPOSE matching the metrics listener, every context file it copies
// present and not excluded by <Dockerfile>.dockerignore, versions in step
// with deploy/setup and go.mod, and no BuildKit lint warnings.
func CheckDockerfile(s DockerfileSetup) (*ImageFacts, error) {
	data, err := os.ReadFile(s.Dockerfile)
	if err != nil {
		return nil, fmt.Errorf("dockerfile: %w", err)
	}
	d, err := ParseDockerfile(data)
	if err != nil {
		return nil, err
	}
	var problems errs
	for _, w := range d.Warnings {
		problems.addf("dockerfile: warning: %s", w)
	}
	if len(d.Stages) < 2 {
		return nil, fmt.Errorf("dockerfile: %d stage(s), want a multi-stage build", len(d.Stages))
	}
	ignore, err := loadDockerignore(s.Dockerfile+".dockerignore", filepath.Join(s.Repo, ".gitignore"))
	if err != nil {
		problems.addf("dockerfile: %w", err)
	}
	stageNames := map[string]bool{}
	var bakedORT, bakedModel string
	for i, st := range d.Stages {
		for _, c := range st.Commands {
			switch c := c.(type) {
			case *instructions.CopyCommand:
				if c.From != "" {
					if _, err := strconv.Atoi(c.From); err != nil && !stageNames[c.From] && !strings.Contains(c.From, ":") && !strings.Contains(c.From, "/") {
						problems.addf("dockerfile: stage %d: COPY --from=%s: no earlier stage of that name", i, c.From)
					}
					continue
				}
				for _, src := range c.SourcePaths {
					checkContextPath(&problems, s.Repo, ignore, src)
				}
			case *instructions.RunCommand:
				line := strings.Join(c.CmdLine, " ")
				for _, m := range regexp.MustCompile(`deploy/setup/[A-Za-z0-9_.-]+\.sh`).FindAllString(line, -1) {
					if !isFile(filepath.Join(s.Repo, m)) {
						problems.addf("dockerfile: RUN uses %s, which does not exist", m)
					}
				}
				if strings.Contains(line, "make build") {
					if m := regexp.MustCompile(`ORT_LIB=(\S+)`).FindStringSubmatch(line); m != nil {
						bakedORT = strings.Trim(m[1], `"'`)
					}
					if m := regexp.MustCompile(`MODEL_DIR=(\S+)`).FindStringSubmatch(line); m != nil {
						bakedModel = strings.Trim(m[1], `"'`)
					}
				}
			}
		}
		if st.Name != "" {
			stageNames[st.Name] = true
		}
	}
	if bakedORT == "" || bakedModel == "" {
		problems.addf("dockerfile: no `make build ORT_LIB=... MODEL_DIR=...` in a build stage: the binary would look for the builder's paths")
	}

	final := d.Stages[len(d.Stages)-1]
	base := d.expand(final.BaseName)
	if !regexp.MustCompile(`^(docker\.io/)?(library/)?debian:[a-z0-9.]+-slim$|^gcr\.io/distroless/cc`).MatchString(base) {
		problems.addf("dockerfile: final stage FROM %s: want debian:<release>-slim or distroless/cc (ONNX Runtime needs glibc and libstdc++)", base)
	}
	facts := &ImageFacts{}
	files := map[string]string{} // final-stage path -> what it is
	var env = map[string]string{}
	var entrypoint, cmd []string
	var exposed []string
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			facts.User = c.User
		case *instructions.CopyCommand:
			for _, src := range c.SourcePaths {
				dest := c.DestPath
				if strings.HasSuffix(dest, "/") && !strings.HasSuffix(src, "/") {
					dest = path.Join(dest, path.Base(src))
				}
				files[path.Clean(dest)] = path.Clean(src)
			}
		case *instructions.RunCommand:
			line := strings.Join(c.CmdLine, " ")
			for _, m := range regexp.MustCompile(`ln -s\S* (\S+) (\S+)`).FindAllStringSubmatch(line, -1) {
				target := m[1]
				if !path.IsAbs(target) {
					target = path.Join(path.Dir(m[2]), target)
				}
				if what, ok := files[path.Clean(target)]; ok {
					files[path.Clean(m[2])] = what
				}
			}
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				env[kv.Key] = kv.Value
			}
		case *instructions.EntrypointCommand:
			entrypoint = c.CmdLine
			if c.PrependShell {
				problems.addf("dockerfile: ENTRYPOINT in shell form: signals would go to the shell, not qegate (no graceful drain)")
			}
		case *instructions.CmdCommand:
			cmd = c.CmdLine
		case *instructions.ExposeCommand:
			exposed = append(exposed, c.Ports...)
		}
	}
	if u := strings.SplitN(facts.User, ":", 2)[0]; u == "" || u == "0" || u == "root" {
		problems.addf("dockerfile: final stage USER %q: want a non-root user", facts.User)
	} else if n, err := strconv.Atoi(u); err != nil || n < 1000 {
		// Kubernetes' runAsNonRoot can verify only a numeric uid.
		problems.addf("dockerfile: final stage USER %q: want a numeric uid >= 1000 (runAsNonRoot checks it)", facts.User)
	}
	find := func(suffix string) (string, bool) {
		for dest, src := range files {
			if strings.HasSuffix(src, suffix) {
				return dest, true
			}
		}
		return "", false
	}
	bin, ok := find("bin/qegate")
	if !ok {
		problems.addf("dockerfile: final stage: bin/qegate not copied")
	}
	if !slices.Equal(entrypoint, []string{"qegate"}) && !slices.Equal(entrypoint, []string{bin}) {
		problems.addf("dockerfile: ENTRYPOINT %q: want [\"qegate\"]", entrypoint)
	} else if slices.Equal(entrypoint, []string{"qegate"}) && path.Dir(bin) != "/usr/local/bin" && path.Dir(bin) != "/usr/bin" {
		problems.addf("dockerfile: ENTRYPOINT qegate, but the binary is at %s, not on the default PATH", bin)
	}
	if bakedORT != "" {
		if what, ok := files[path.Clean(bakedORT)]; !ok || !strings.Contains(path.Base(what), "libonnxruntime.so") {
			problems.addf("dockerfile: the binary looks for ONNX Runtime at %s, which the final stage does not provide", bakedORT)
		}
	}
	if bakedModel != "" {
		if what, ok := files[path.Clean(bakedModel)]; !ok || what != "/src/models/default" && !strings.HasSuffix(what, "models/default") {
			problems.addf("dockerfile: the binary looks for the default model at %s, which the final stage does not provide", bakedModel)
		}
	}
	facts.ConfigPath, ok = find("configs/qegate.yaml")
	if !ok {
		problems.addf("dockerfile: final stage: configs/qegate.yaml not copied")
	}
	if len(cmd) < 3 || cmd[0] != "run" || cmd[1] != "--config" || cmd[2] != facts.ConfigPath {
		problems.addf("dockerfile: CMD %q: want [\"run\", \"--config\", %q]", cmd, facts.ConfigPath)
	}
	if l := env["QEGATE_METRICS_LISTEN"]; l == "" {
		problems.addf("dockerfile: no ENV QEGATE_METRICS_LISTEN: the reference config leaves the metrics endpoint (and probes) off")
	} else if p, err := ListenPort(l); err != nil {
		problems.addf("dockerfile: ENV QEGATE_METRICS_LISTEN: %w", err)
	} else {
		facts.MetricsPort = p
		if !slices.Contains(exposed, strconv.Itoa(p)) && !slices.Contains(exposed, strconv.Itoa(p)+"/tcp") {
			problems.addf("dockerfile: EXPOSE %q does not include the metrics port %d", exposed, p)
		}
	}
	checkVersions(&problems, s.Repo, d)
	if err := problems.join(); err != nil {
		return nil, err
	}
	return facts, nil
}

// checkVersions keeps the image's toolchain pins in step with the repo:
// the ONNX Runtime default of deploy/setup/onnxruntime.sh, and a Go at
// least go.mod's.
func checkVersions(problems *errs, repo string, d *Dockerfile) {
	// ORT_VERSION: one default, before the first FROM, inherited by every
	// stage that runs the script; a stage default of its own could make the
	// ort and build stages disagree (the build stage would then try npm).
	script, err := os.ReadFile(filepath.Join(repo, "deploy", "setup", "onnxruntime.sh"))
	if err != nil {
		problems.addf("dockerfile: %w", err)
	} else if m := regexp.MustCompile(`VERSION="\$\{ORT_VERSION:-([^}]+)\}"`).FindSubmatch(script); m == nil || string(m[1]) != d.MetaArgs["ORT_VERSION"] {
		problems.addf("dockerfile: ARG ORT_VERSION=%s (before the first FROM) differs from deploy/setup/onnxruntime.sh's default", d.MetaArgs["ORT_VERSION"])
	}
	for i, st := range d.Stages {
		if v, ok := stageArg(st, "ORT_VERSION"); ok {
			problems.addf("dockerfile: stage %d sets its own ORT_VERSION default %s; declare it once before the first FROM", i, v)
		}
		for _, c := range st.Commands {
			r, ok := c.(*instructions.RunCommand)
			if !ok {
				continue
			}
			line := strings.Join(r.CmdLine, " ")
			if (strings.Contains(line, "onnxruntime.sh") || strings.Contains(line, "make build")) &&
				(!stageDeclares(st, "ORT_VERSION") || !strings.Contains(line, "ORT_VERSION=")) {
				problems.addf("dockerfile: stage %d runs deploy/setup/onnxruntime.sh (directly or through make build) without ARG ORT_VERSION passed to it", i)
			}
		}
	}
	gomod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		problems.addf("dockerfile: %w", err)
		return
	}
	m := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)(?:\.(\d+))?$`).FindSubmatch(gomod)
	img := regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?$`).FindStringSubmatch(d.MetaArgs["GO_VERSION"])
	if m == nil || img == nil {
		problems.addf("dockerfile: want ARG GO_VERSION=<x.y.z> and a go directive in go.mod")
		return
	}
	atoi := func(b string) int { n, _ := strconv.Atoi(b); return n }
	need := [3]int{atoi(string(m[1])), atoi(string(m[2])), atoi(string(m[3]))}
	have := [3]int{atoi(img[1]), atoi(img[2]), atoi(img[3])}
	if slices.Compare(have[:], need[:]) < 0 {
		problems.addf("dockerfile: GO_VERSION %s is older than go.mod's go %d.%d.%d", d.MetaArgs["GO_VERSION"], need[0], need[1], need[2])
	}
}

// loadDockerignore reads the dockerignore at path and checks that it keeps
// out what a build must not carry: .git, and the scratch that set-up and
// tests leave in a clone, i.e. every pattern of the repository's gitignore.
func loadDockerignore(path, gitignore string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dockerignore: %w (the context would carry .cache/ and the venv)", err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("dockerignore: %w", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("dockerignore: %w", err)
	}
	for _, must := range []string{".cache", "bin", "train/.venv", ".git"} {
		if ok, _ := pm.MatchesOrParentMatches(must); !ok {
			return pm, fmt.Errorf("dockerignore: %s is not excluded", must)
		}
	}
	scratch, err := gitignoreSamples(gitignore)
	if err != nil {
		return pm, fmt.Errorf("dockerignore: %w", err)
	}
	for _, sm := range scratch {
		if ok, _ := pm.MatchesOrParentMatches(sm.path); !ok {
			return pm, fmt.Errorf("dockerignore: %s is not excluded (.gitignore: %s)", sm.path, sm.pattern)
		}
	}
	return pm, nil
}

// ignoreSample is a path that a gitignore pattern matches.
type ignoreSample struct{ pattern, path string }

// gitignoreSamples turns each pattern of a gitignore into paths it matches
// (a wildcard stands for "x"; an unanchored pattern also one directory
// down), so that the dockerignore can be asked about the same scratch.
// Negations are skipped.
func gitignoreSamples(path string) ([]ignoreSample, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []ignoreSample
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "!") {
			continue
		}
		p := strings.TrimSuffix(line, "/")
		anchored := strings.Contains(p, "/")
		p = strings.ReplaceAll(strings.TrimPrefix(p, "/"), "*", "x")
		out = append(out, ignoreSample{line, p})
		if !anchored {
			out = append(out, ignoreSample{line, "train/" + p})
		}
	}
	return out, nil
}

// checkContextPath: a COPY source must exist in the context and survive
// the dockerignore; for a directory, every file the image needs from it.
func checkContextPath(problems *errs, repo string, ignore *patternmatcher.PatternMatcher, src string) {
	rel := strings.TrimPrefix(path.Clean(src), "/")
	if rel == "." {
		// COPY . . : the model and the config must survive the ignore file.
		for _, need := range []string{"models/default/model.onnx", "models/default/tokenizer.json", "models/default/model.json", "configs/qegate.yaml", "Makefile", "go.mod"} {
			checkContextPath(problems, repo, ignore, need)
		}
		return
	}
	if _, err := os.Stat(filepath.Join(repo, filepath.FromSlash(rel))); err != nil {
		problems.addf("dockerfile: COPY %s: not in the build context", src)
		return
	}
	if ignore != nil {
		if ok, _ := ignore.MatchesOrParentMatches(rel); ok {
			problems.addf("dockerfile: COPY %s: excluded by the dockerignore file", src)
		}
	}
}
