package app

import (
	"github.com/qegate/qegate/sink"
	"github.com/qegate/qegate/source"
)

// buildFiles makes a file gate's source and its ordered sink (corpus
// cleaning): the input options are checked before the output directory is
// touched, and a resumed run continues from the checkpoint's position.
func (b *builder) buildFiles() error {
	in := b.opts.Files.Input
	if in.MaxLineBytes <= 0 {
		in.MaxLineBytes = b.cfg.Input.MaxBytes
	}
	if _, err := source.NewFile(in, b.dec, b.log, nil); err != nil {
		return err
	}
	out, start, done, err := sink.OpenOrdered(b.opts.Files.Output)
	if err != nil {
		return err
	}
	g := b.g
	g.Sink, g.Out, g.Start = out, out, start
	if done {
		g.AlreadyComplete = true
		return nil
	}
	in.Start = start
	fs, err := source.NewFile(in, b.dec, b.log, out)
	if err != nil {
		_ = out.Close()
		return err
	}
	b.src, g.Files = fs, fs
	return nil
}
