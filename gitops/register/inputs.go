package register

import (
	"fmt"
	"os"

	"github.com/modelgit/modelgit/manifests"
)

// ReadMetrics reads a metrics file with manifests.ReadMetrics, which
// checks it as a version manifest's metrics are checked.
func ReadMetrics(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	defer f.Close()
	return manifests.ReadMetrics(path, f)
}

// ReadParams reads a hyperparameters file with manifests.ReadParams, which
// checks it as a version manifest's params are checked.
func ReadParams(path string) (map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	defer f.Close()
	return manifests.ReadParams(path, f)
}

// ReadFeatures reads a feature schema with manifests.ReadFeatureSchema
// and returns feature name → type (TYPE, or TYPE[SHAPE] when a shape is
// declared). docs/formats.md shows the forms it accepts.
func ReadFeatures(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	defer f.Close()
	return manifests.ReadFeatureSchema(path, f)
}

// ReadInterface reads the inputs and outputs an inference config declares
// with manifests.ReadInferenceConfig. A config without them has no
// declared interface: nil, nil.
func ReadInterface(path string) (inputs, outputs map[string]string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %q: %w", path, err)
	}
	defer f.Close()
	in, err := manifests.ReadInferenceConfig(path, f)
	if err != nil || in == nil {
		return nil, nil, err
	}
	return in.Inputs, in.Outputs, nil
}
