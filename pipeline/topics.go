package pipeline

import (
	"fmt"
	"time"

	"github.com/qegate/qegate/internal/qe"
)

// ExpectTopics records output topics known to exist (checked at start-up):
// if one of them later disappears, the engine stops rather than
// dead-letter its traffic.
func (e *Engine) ExpectTopics(topics ...string) {
	for _, t := range topics {
		e.known.Store(t, true)
	}
}

func (e *Engine) markKnown(recs []qe.Record) {
	for _, r := range recs {
		if _, ok := e.known.Load(r.Topic); !ok {
			e.known.Store(r.Topic, true)
		}
	}
}

// missingTopic handles a record whose topic the broker does not know: keep
// retrying within MissingTopicTimeout; after it, dead-letter a record for a
// topic that never existed, or stop the engine (false) when the topic was
// known to exist or is the dead-letter topic itself.
func (e *Engine) missingTopic(outs []routed, i int, since map[int]time.Time, err error) bool {
	first, ok := since[i]
	if !ok {
		since[i] = time.Now()
		return true
	}
	if time.Since(first) < e.cfg.MissingTopicTimeout {
		return true
	}
	topic := outs[i].rec.Topic
	_, known := e.known.Load(topic)
	if known || outs[i].rec.Route == qe.RouteDeadLetter {
		e.fail(fmt.Errorf("output topic %q does not exist any more (deleted?) after %s of retries; stopping with its records unacked, so they are redelivered once it exists: %w",
			topic, e.cfg.MissingTopicTimeout, err))
		return false
	}
	reason := "cannot deliver to " + topic + ": topic does not exist"
	outs[i].rec = e.router.DeadLetter(outs[i].it, reason)
	delete(since, i)
	return true
}
