package hlml

import (
	"context"
	"fmt"
)

// token is a lock that can be waited for with a context: a library call that never returns must
// not leave every later Read, WaitEvents and Shutdown blocked beyond their deadlines. Channel
// receivers are served in order, so waiters take turns.
type token chan struct{}

func newToken() token {
	t := make(token, 1)
	t <- struct{}{}
	return t
}

// acquire takes the token, or returns the context's error when it ends first.
func (t token) acquire(ctx context.Context, what string) error {
	select {
	case <-t:
		return nil
	default:
	}
	select {
	case <-t:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s: an HLML call in flight has not returned: %w", what, ctx.Err())
	}
}

func (t token) release() { t <- struct{}{} }
