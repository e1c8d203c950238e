package source

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Magic bytes of the compressed formats Decompress recognises, and of
// those it refuses with a clear message (rather than reading binary as
// thousands of dead-lettered "lines").
var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicBzip2 = []byte("BZh")
	magicZip   = []byte("PK\x03\x04")
)

// Decompress returns r's content, decompressed when it starts with gzip
// (concatenated members included) or zstd magic bytes; other input is
// returned as it is. The name of the file plays no part: a .gz that is not
// gzip is read as text, a gzip named .tsv is decompressed. close releases
// the decoder.
func Decompress(r io.Reader) (out io.Reader, close func(), err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(6)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("read: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, magicGzip):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, func() { _ = zr.Close() }, nil
	case bytes.HasPrefix(head, magicZstd):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	case bytes.HasPrefix(head, magicXz):
		return nil, nil, errors.New("xz input is not supported: recompress it with gzip or zstd, or pipe it in (xz -dc FILE | qegate filter -)")
	case bytes.HasPrefix(head, magicBzip2) && len(head) >= 4 && head[3] >= '1' && head[3] <= '9':
		return nil, nil, errors.New("bzip2 input is not supported: recompress it with gzip or zstd, or pipe it in (bzip2 -dc FILE | qegate filter -)")
	case bytes.HasPrefix(head, magicZip):
		return nil, nil, errors.New("zip archives are not supported: extract the file first")
	}
	return br, func() {}, nil
}
