package bench

// Options say what Run measures. The zero value of a field means what the
// qegate bench flag of the same name defaults to, where that is zero.
type Options struct {
	// Model is the model directory ("" the default model).
	Model string
	// Data is an MLQE-PE directory or TSV/JSONL file ("" as for demo).
	Data string
	// Quick is a few seconds: few pairs, small grid, short runs.
	Quick bool
	// N is how many pairs to use (cycled from the data); LatencyN how many
	// for the batch-1 latency protocol.
	N, LatencyN int
	// MinSeconds is how long each throughput run repeats the pairs.
	MinSeconds float64
	// Peers lists the peers to measure, comma-separated ("none": none).
	Peers string
	// Python runs the python_ort peer script found in PeersDir; Hugot is
	// the hugot peer binary.
	Python, PeersDir, Hugot string
	// Unquantized, Unpruned and UnprunedFP32 are ONNX files of the same
	// model family, run through qegate's scorer as peers.
	Unquantized, Unpruned, UnprunedFP32 string
	// L4 is the model directory of the 4-layer tier (models/l4), run
	// through qegate's scorer as a peer: the speed a user gains by
	// choosing it, and the previous default's speed side by side.
	L4 string
	// V1 is the model directory of model 1.0.0 (bench/models/l4-1.0.0, a
	// bench artifact: the 4-layer default before issue 19), run through
	// qegate's scorer as a peer: the reference of issue 19's speed ratios.
	V1 string
	// E2E measures end to end through the in-process Kafka broker, with
	// Partitions input partitions.
	E2E        bool
	Partitions int
	// Rounds is how many rounds per peer (each bracketed by qegate runs).
	Rounds int
}
