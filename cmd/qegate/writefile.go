package main

import (
	"io"
	"os"
)

// writeFile creates path and fills it with write, reporting a failed close
// (a full disk shows there) when write succeeded.
func writeFile(path string, write func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	return write(f)
}
