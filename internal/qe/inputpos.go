package qe

// InputPos is a line's place in a filter's input, as the checkpoint records
// it: after the line, File and Line name it and Global and Seq count the
// lines read (all shards) and fed (this shard) up to and including it. The
// zero value is the start of the input.
type InputPos struct {
	// File indexes the input paths.
	File int `json:"file"`
	// Line is the 1-based line in that file (0: none yet).
	Line int64 `json:"line"`
	// Global counts lines read across all inputs, for sharding.
	Global int64 `json:"global"`
	// Seq counts lines fed to the pipeline: the next item's Seq.
	Seq int64 `json:"seq"`
}
