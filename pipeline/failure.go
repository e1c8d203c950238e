package pipeline

// Err returns the fault that stopped the engine for good (a deleted output
// topic, a dead-letter topic that refuses everything), or nil.
func (e *Engine) Err() error {
	select {
	case <-e.failed:
		return e.failErr
	default:
		return nil
	}
}

// Failed is closed when the engine stops for good; Err says why. The gate
// then stops its source: nothing after the fault is acked, so all of it is
// redelivered once the cause is fixed.
func (e *Engine) Failed() <-chan struct{} { return e.failed }

func (e *Engine) fail(err error) {
	e.failOnce.Do(func() {
		e.failErr = err
		e.log.Error("engine: stopping: "+err.Error(), "err", err)
		close(e.failed)
	})
}
