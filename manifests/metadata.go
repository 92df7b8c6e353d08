package manifests

import (
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Limits on a version's metadata: the metrics and hyperparameters files
// register reads (--metrics, --params) and the metrics and params of a
// version manifest. Metadata is small by nature; the limits keep a wrong
// file (a data set, /dev/zero) from costing unbounded memory and time.
const (
	// MaxMetadataFileSize is the largest metrics or params file read: 1 MiB.
	MaxMetadataFileSize = 1 << 20
	// MaxMetadataValues is the most metrics, or hyperparameter values
	// (every mapping entry and list item, at any depth), a version holds.
	MaxMetadataValues = 10_000
	// MaxNameLength is the longest metric or hyperparameter name, in bytes.
	MaxNameLength = 256
)

// ReadMetrics reads a metrics file from r: a JSON or YAML mapping of
// metric name to finite number, e.g. {"accuracy": 0.97, "latency_p95":
// 41.5}, of at most MaxMetadataFileSize bytes and MaxMetadataValues
// metrics. file names r in errors, which are FileErrors. It accepts what
// a version manifest's metrics accept, so that whatever register commits
// every command can read.
func ReadMetrics(file string, r io.Reader) (map[string]float64, error) {
	c, err := readMetadata(file, r)
	if c == nil || err != nil {
		return nil, err
	}
	if c.root.Kind != yaml.MappingNode {
		c.errorf(c.root, "", "want a mapping of metric name to number, got %s", describeNode(c.root))
		return nil, c.result()
	}
	out := make(map[string]float64, len(c.root.Content)/2)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(c.root.Content); i += 2 {
		k, v := c.root.Content[i], c.root.Content[i+1]
		if !c.key(k, "", seen) {
			continue
		}
		c.nodes[k.Value] = v
		if v.Kind != yaml.ScalarNode {
			c.errorf(v, k.Value, "want a number, got %s", describeNode(v))
			continue
		}
		f, err := strconv.ParseFloat(v.Value, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			c.errorf(v, k.Value, "want a finite number, got %q", v.Value)
			continue
		}
		out[k.Value] = f
	}
	if len(c.errs) == 0 {
		checkMetrics(c, "", out)
	}
	if len(c.errs) > 0 {
		return nil, c.result()
	}
	return out, nil
}

// ReadParams reads a hyperparameters file from r: a JSON or YAML mapping
// of name to any value JSON can hold (no NaN or infinity, string keys),
// of at most MaxMetadataFileSize bytes and MaxMetadataValues values.
// Like ReadMetrics, it accepts what a version manifest's params accept.
func ReadParams(file string, r io.Reader) (map[string]any, error) {
	c, err := readMetadata(file, r)
	if c == nil || err != nil {
		return nil, err
	}
	if c.root.Kind != yaml.MappingNode {
		c.errorf(c.root, "", "want a mapping of hyperparameter name to value, got %s", describeNode(c.root))
		return nil, c.result()
	}
	if n := countValues(c.root); n > MaxMetadataValues {
		// Refused before the walk, whose bookkeeping grows with the values.
		c.errorf(c.root, "", "%d values; a params file holds at most %d (hyperparameters, not data)", n, MaxMetadataValues)
		return nil, c.result()
	}
	c.walkAny(c.root, "", 0)
	if len(c.errs) > 0 {
		return nil, c.result()
	}
	var out map[string]any
	if err := c.root.Decode(&out); err != nil {
		c.yamlError(err)
		return nil, c.result()
	}
	normalizeTimes(reflect.ValueOf(&out).Elem())
	checkParams(c, "", out)
	if len(c.errs) > 0 {
		return nil, c.result()
	}
	return out, nil
}

// readMetadata reads at most MaxMetadataFileSize bytes from r and parses
// them as one YAML document. It returns a Checker holding the root, or
// nil and the error.
func readMetadata(file string, r io.Reader) (*Checker, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxMetadataFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", file, err)
	}
	if len(data) > MaxMetadataFileSize {
		return nil, FileErrors{{File: file, Msg: fmt.Sprintf("the file is larger than %d bytes (1 MiB), the limit for metrics and params files: metrics and hyperparameters are small; is this the right file?", MaxMetadataFileSize)}}
	}
	c := &Checker{file: file, nodes: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	if !c.document(data, "the file is empty: want a mapping", "more than one YAML document; want a single mapping (the documents after the first would be lost)") {
		return nil, c.result()
	}
	return c, nil
}

// countValues counts mapping entries and list items below n, stopping
// soon after MaxMetadataValues.
func countValues(n *yaml.Node) int {
	total := 0
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if total > MaxMetadataValues {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			total += len(n.Content) / 2
			for i := 1; i < len(n.Content); i += 2 {
				walk(n.Content[i])
			}
		case yaml.SequenceNode:
			total += len(n.Content)
			for _, c := range n.Content {
				walk(c)
			}
		}
	}
	walk(n)
	return total
}

// checkMetrics is the one check of metrics, in a metrics file (prefix "")
// and in a version manifest (prefix "metrics"): at most
// MaxMetadataValues, valid names, finite values.
func checkMetrics(c *Checker, prefix string, m map[string]float64) {
	if len(m) > MaxMetadataValues {
		c.Fail(prefix, "%d metrics; at most %d are supported", len(m), MaxMetadataValues)
		return
	}
	for _, k := range sortedKeys(m) {
		p := join(prefix, k)
		if err := checkName(k); err != nil {
			c.Fail(p, "metric name %q is not valid: %v", k, err)
		}
		if v := m[k]; math.IsNaN(v) || math.IsInf(v, 0) {
			c.Fail(p, "metric value %v is not valid; want a finite number", v)
		}
	}
}

// checkParams is the one check of hyperparameters, in a params file
// (prefix "") and in a version manifest (prefix "params"): at most
// MaxMetadataValues values, valid names at every depth, finite numbers
// (string keys are checked by the walk of free-form values).
func checkParams(c *Checker, prefix string, params map[string]any) {
	count := 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			count += len(x)
			for _, k := range sortedKeys(x) {
				p := join(path, k)
				if err := checkName(k); err != nil {
					c.Fail(p, "hyperparameter name %q is not valid: %v", k, err)
				}
				walk(p, x[k])
			}
		case []any:
			count += len(x)
			for i, item := range x {
				walk(path+"["+strconv.Itoa(i)+"]", item)
			}
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				c.Fail(path, "%v is not a finite number; want a number such as 0.5 or 1e-3 (JSON has no NaN or infinity)", x)
			}
		}
	}
	walk(prefix, params)
	if count > MaxMetadataValues {
		c.Fail(prefix, "%d hyperparameter values; at most %d are supported", count, MaxMetadataValues)
	}
}

// checkName says what is wrong with a metric or hyperparameter name: it
// must be non-empty, valid UTF-8, printable (no newline or other control
// character, which would forge lines in commit messages, tables and PR
// bodies) and at most MaxNameLength bytes.
func checkName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("it is empty; want a name such as accuracy")
	case len(s) > MaxNameLength:
		return fmt.Errorf("it is %d bytes long; want at most %d", len(s), MaxNameLength)
	case !utf8.ValidString(s):
		return fmt.Errorf("it is not valid UTF-8")
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("it holds the control or space character %U; want printable characters", r)
		}
	}
	return nil
}
