package policies

import "regexp"

// rangeSelector finds a PromQL range selector: a metric name and/or a
// label matcher set (quoted values may hold braces), then [DURATION]; a
// subquery ([1h:5m]) does not match.
var rangeSelector = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)?(\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\})?\[(\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)\]`)

// SamplesQuery returns the query that counts the samples behind query:
// sum(count_over_time(S)) for the first range selector S in it (the raw
// samples of every series it selects over its window), and the window.
// ok is false when query has no range selector: then minSamples cannot be
// checked, and Parse refuses a metric that sets it.
func SamplesQuery(query string) (samples, window string, ok bool) {
	for _, loc := range rangeSelector.FindAllStringSubmatchIndex(query, -1) {
		if loc[2] < 0 && loc[4] < 0 {
			continue // "[5m]" alone, e.g. after a parenthesis: not a selector
		}
		sel := query[loc[0]:loc[1]]
		return "sum(count_over_time(" + sel + "))", query[loc[6]:loc[7]], true
	}
	return "", "", false
}
