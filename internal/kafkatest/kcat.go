package kafkatest

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// kcatTimeout bounds one kcat run.
const kcatTimeout = 2 * time.Minute

// KcatPath returns the kcat binary (kcat, else the older name kafkacat). It
// skips the test when neither is installed, or fails it when CI is set.
func KcatPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"kcat", "kafkacat"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	skipOrFail(t, "kcat not found (apt-get install -y kcat, or make native)")
	return ""
}

// Kcat runs `kcat -b <Addr()> args...` and returns its standard output. It
// fails the test when kcat exits non-zero or runs past two minutes.
func (b *Broker) Kcat(t testing.TB, args ...string) string {
	t.Helper()
	return b.kcat(t, nil, args...)
}

// KcatProduce produces one message per element of lines to topic with
// `kcat -P`, waiting until the broker acknowledged them all. Lines must not
// contain a newline (kcat's default message delimiter); extra args go to
// kcat, e.g. "-K", "\t" to split each line into key and value, or "-p", "0".
func (b *Broker) KcatProduce(t testing.TB, topic string, lines []string, args ...string) {
	t.Helper()
	var in bytes.Buffer
	for _, l := range lines {
		if strings.Contains(l, "\n") {
			t.Fatalf("kafkatest: KcatProduce: line %q holds a newline", l)
		}
		in.WriteString(l)
		in.WriteByte('\n')
	}
	b.kcat(t, &in, append([]string{"-P", "-t", topic}, args...)...)
}

func (b *Broker) kcat(t testing.TB, stdin *bytes.Buffer, args ...string) string {
	t.Helper()
	bin := KcatPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), kcatTimeout)
	defer cancel()
	full := append([]string{"-b", b.Addr()}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kafkatest: kcat %s: %v\n%s", strings.Join(full, " "), err, stderr.String())
	}
	return stdout.String()
}
