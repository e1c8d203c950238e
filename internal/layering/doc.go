// Package layering holds no code: its test checks that the folder tree's
// data flow (source -> pipeline -> scorer -> sink, over the leaf
// internal/qe) is what the imports say.
package layering
