package qe

// Header is one record header: a Kafka header, or a field of file output.
type Header struct {
	Key   string
	Value []byte
}

// Header names of the message contract (README "Message contract"). Every
// qe-* header of an input is dropped before these are added, so a message
// gated twice carries one verdict.
const (
	HeaderScore  = "qe-score"  // decision score, 6 decimals
	HeaderLabel  = "qe-label"  // "acceptable" or "rejected"
	HeaderModel  = "qe-model"  // name@version of the model that scored it
	HeaderError  = "qe-error"  // why a dead letter could not be scored
	HeaderSource = "qe-source" // topic:partition:offset of the input, for deduplication
	HeaderReason = "qe-reason" // why a rule prefilter rejected the pair, or that it is a critical error
	HeaderRule   = "qe-rule"   // which rule prefilter rejected the pair
	// HeaderCritical is the probability of a critical error, 6 decimals, on
	// every scored message when the model has a critical output.
	HeaderCritical = "qe-critical"
)
