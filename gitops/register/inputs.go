package register

import (
	"bytes"
	"fmt"
	"io"

	"github.com/modelgit/modelgit/manifests"
)

// readMetadata reads a metadata file through openMetadata (regular files
// only, opened without blocking) and never more than
// manifests.MaxMetadataFileSize bytes, even from a file that grows or
// whose size lies (a /proc file says 0).
func readMetadata(path string) (io.Reader, error) {
	f, err := openMetadata(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, manifests.MaxMetadataFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	if len(data) > manifests.MaxMetadataFileSize {
		return nil, tooLarge(path, int64(len(data)))
	}
	return bytes.NewReader(data), nil
}

// ReadMetrics reads a metrics file with manifests.ReadMetrics, which
// checks it as a version manifest's metrics are checked.
func ReadMetrics(path string) (map[string]float64, error) {
	f, err := readMetadata(path)
	if err != nil {
		return nil, err
	}
	return manifests.ReadMetrics(path, f)
}

// ReadParams reads a hyperparameters file with manifests.ReadParams, which
// checks it as a version manifest's params are checked.
func ReadParams(path string) (map[string]any, error) {
	f, err := readMetadata(path)
	if err != nil {
		return nil, err
	}
	return manifests.ReadParams(path, f)
}

// ReadFeatures reads a feature schema with manifests.ReadFeatureSchema
// and returns feature name → type (TYPE, or TYPE[SHAPE] when a shape is
// declared). docs/formats.md shows the forms it accepts.
func ReadFeatures(path string) (map[string]string, error) {
	f, err := readMetadata(path)
	if err != nil {
		return nil, err
	}
	return manifests.ReadFeatureSchema(path, f)
}

// ReadInterface reads the inputs and outputs an inference config declares
// with manifests.ReadInferenceConfig. A config without them has no
// declared interface: nil, nil.
func ReadInterface(path string) (inputs, outputs map[string]string, err error) {
	f, err := readMetadata(path)
	if err != nil {
		return nil, nil, err
	}
	in, err := manifests.ReadInferenceConfig(path, f)
	if err != nil || in == nil {
		return nil, nil, err
	}
	return in.Inputs, in.Outputs, nil
}
