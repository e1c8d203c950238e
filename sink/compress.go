package sink

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// compressWriter wraps w in a gzip or zstd stream. Both encoders are set up
// to be deterministic (no name or time in the gzip header, one zstd
// encoder goroutine), so equal inputs give byte-identical outputs.
func compressWriter(w io.Writer, kind string) (io.WriteCloser, error) {
	switch kind {
	case "gzip":
		return gzip.NewWriterLevel(w, gzip.DefaultCompression)
	case "zstd":
		return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
	}
	return nil, fmt.Errorf("compression %q: want gzip or zstd", kind)
}

// CompressExt is the file name suffix of a compression kind.
func CompressExt(kind string) string {
	if kind == "zstd" {
		return ".zst"
	}
	return ".gz"
}

// compressFile writes dir/name compressed to dir/name+ext, through a
// temporary file that is fsynced and renamed, so a compressed output is
// never seen half-written.
func compressFile(dir, name, kind string) error {
	in, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("compress %s: %w", name, err)
	}
	defer in.Close()
	final := filepath.Join(dir, name+CompressExt(kind))
	tmp := final + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("compress %s: %w", name, err)
	}
	bw := bufio.NewWriterSize(out, 256<<10)
	cw, err := compressWriter(bw, kind)
	if err == nil {
		_, err = io.Copy(cw, bufio.NewReaderSize(in, 256<<10))
	}
	if err == nil {
		err = cw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("compress %s: %w", name, err)
	}
	return nil
}
