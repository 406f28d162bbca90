package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// pollInterval is how often eventually re-checks its condition.
const pollInterval = 200 * time.Millisecond

// httpClient is used for every request to the processes under test; no request may hang a test.
var httpClient = &http.Client{Timeout: 5 * time.Second}

// eventually calls cond until it returns true or deadline has passed, in which case it fails the
// test with the reason cond gave last. cond runs on the test's goroutine, so it may call t.Fatal.
func eventually(t *testing.T, deadline time.Duration, cond func() (ok bool, reason string)) {
	t.Helper()
	start := time.Now()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		ok, reason := cond()
		if ok {
			return
		}
		if time.Since(start) >= deadline {
			t.Fatalf("condition not met within %s; last reason: %s", deadline, reason)
		}
		<-ticker.C
	}
}

// waitHTTP200 polls url until it answers 200 OK, failing the test at once if p exits and after
// deadline otherwise.
func waitHTTP200(t *testing.T, p *process, url string, deadline time.Duration) {
	t.Helper()
	start := time.Now()
	eventually(t, deadline, func() (bool, string) {
		p.failIfExited(t)
		status, body, err := httpGet(context.Background(), url, "")
		if err != nil {
			return false, err.Error()
		}
		if status != http.StatusOK {
			return false, fmt.Sprintf("GET %s: %d %s", url, status, body)
		}
		return true, ""
	})
	t.Logf("%s answered 200 after %s", url, time.Since(start).Round(time.Millisecond))
}

// httpGet fetches url and returns the status code and body.
func httpGet(ctx context.Context, url, accept string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("reading the body of GET %s: %w", url, err)
	}
	return resp.StatusCode, body, nil
}
