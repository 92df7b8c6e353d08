package manifests

import "time"

// APIVersion is written into every manifest modelgit creates.
const APIVersion = "modelgit.dev/v1alpha1"

// Kinds of manifest.
const (
	KindConfig       = "Config"
	KindModel        = "Model"
	KindModelVersion = "ModelVersion"
	KindRelease      = "Release"
)

// Config is modelgit.yaml at the root of a GitOps repository.
type Config struct {
	APIVersion string `yaml:"apiVersion" json:"apiVersion" jsonschema:"enum=modelgit.dev/v1alpha1"`
	Kind       string `yaml:"kind" json:"kind" jsonschema:"enum=Config"`
	// Store is the artifact store URL: file://DIR (relative to the
	// repository root, or absolute) or oci://REGISTRY/REPO. Empty means the
	// embedded default, file://.modelgit/store.
	Store string `yaml:"store,omitempty" json:"store,omitempty"`
	// Environments in promotion order: a version enters one only after it
	// ran in the one before.
	Environments []Environment `yaml:"environments" json:"environments" validate:"required"`
	// Clusters are where Flux applies an environment's rendered objects.
	Clusters []Cluster `yaml:"clusters,omitempty" json:"clusters,omitempty"`
	// Forge names the pull-request host.
	Forge *Forge `yaml:"forge,omitempty" json:"forge,omitempty"`
	// Flux configures the Flux objects generated under clusters/.
	Flux *Flux `yaml:"flux,omitempty" json:"flux,omitempty"`
}

// Flux configures what modelgit generates for Flux CD.
type Flux struct {
	// URL is the clone URL Flux's GitRepository follows: https://, http://
	// or ssh:// (source-controller clones nothing else). Empty means the
	// forge's repository (with the forge URL's scheme and host), else the
	// origin remote.
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
	// SecretRef names the Secret in flux-system with the credentials
	// Flux clones a private repository with (for https: username and
	// password, e.g. a GitHub token; for ssh: identity and known_hosts),
	// as source-controller reads it. Empty: a public repository.
	SecretRef string `yaml:"secretRef,omitempty" json:"secretRef,omitempty"`
}

// Environment is one stage of promotion.
type Environment struct {
	Name string `yaml:"name" json:"name" validate:"required"`
	// Branch is the branch Flux follows for this environment; empty means
	// the repository's default branch.
	Branch string `yaml:"branch,omitempty" json:"branch,omitempty"`
	// Namespace is the Kubernetes namespace the environment's rendered
	// objects live in on every cluster of the environment; empty means
	// the environment's name (DefaultNamespace).
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// ClusterStore is where the clusters of this environment read a
	// file:// store: a URI the serving runtime loads from
	// (pvc://CLAIM/PATH, s3://BUCKET/PATH, gs://…, https://…) that holds
	// the store's blobs/sha256/. Rendered storage URIs are ClusterStore +
	// "/blobs/sha256/<hex>". Without it a store inside the clone (the
	// default) renders a URI no cluster can read. Not used for oci://
	// stores, which KServe reads directly.
	ClusterStore string `yaml:"clusterStore,omitempty" json:"clusterStore,omitempty"`
}

// DefaultNamespace returns the namespace of the environment's objects:
// Namespace, or the environment's name when it is empty.
func (e Environment) DefaultNamespace() string {
	if e.Namespace != "" {
		return e.Namespace
	}
	return e.Name
}

// Cluster is a Kubernetes cluster bound to one environment.
type Cluster struct {
	Name        string `yaml:"name" json:"name" validate:"required"`
	Environment string `yaml:"environment" json:"environment" validate:"required"`
	// GPU is required in modelgit.yaml, so that a forgotten block is not
	// silently a CPU-only cluster: gpu: {count: 0} says CPU-only, and
	// ParseConfig leaves GPU nil for it.
	GPU *GPU `yaml:"gpu,omitempty" json:"gpu,omitempty" validate:"required" hint:"add gpu: {resource: nvidia.com/gpu, count: 1} or, for a CPU-only cluster, gpu: {count: 0}"`
}

// MarshalYAML writes a CPU-only cluster (GPU nil, as ParseConfig leaves
// it) as gpu: {count: 0}, the form ParseConfig requires, so that the
// canonical form of a Config parses again.
func (c Cluster) MarshalYAML() (any, error) {
	type plain Cluster
	p := plain(c)
	if p.GPU == nil {
		p.GPU = &GPU{}
	}
	return p, nil
}

// GPU holds the defaults every model served on a cluster gets.
type GPU struct {
	// Resource is the extended resource requested, e.g. nvidia.com/gpu;
	// required when Count is 1 or more.
	Resource string `yaml:"resource,omitempty" json:"resource,omitempty"`
	// Count is the number of GPUs each model's container is limited to; 0
	// means a CPU-only cluster.
	Count            int               `yaml:"count" json:"count" validate:"required" hint:"want the number of GPUs per model, or 0 for a CPU-only cluster"`
	NodeSelector     map[string]string `yaml:"nodeSelector,omitempty" json:"nodeSelector,omitempty"`
	Tolerations      []Toleration      `yaml:"tolerations,omitempty" json:"tolerations,omitempty"`
	RuntimeClassName string            `yaml:"runtimeClassName,omitempty" json:"runtimeClassName,omitempty"`
}

// Toleration mirrors the Kubernetes core/v1 Toleration.
type Toleration struct {
	Key      string `yaml:"key,omitempty" json:"key,omitempty"`
	Operator string `yaml:"operator,omitempty" json:"operator,omitempty"`
	Value    string `yaml:"value,omitempty" json:"value,omitempty"`
	Effect   string `yaml:"effect,omitempty" json:"effect,omitempty"`
}

// Forge is where pull requests are opened.
type Forge struct {
	// Type is "github".
	Type string `yaml:"type" json:"type" validate:"required"`
	// Repository is OWNER/NAME.
	Repository string `yaml:"repository" json:"repository" validate:"required"`
	// URL is the API base URL for GitHub Enterprise; empty means github.com.
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
}

// Model is models/<name>/model.yaml: what is true of every version.
type Model struct {
	APIVersion  string            `yaml:"apiVersion" json:"apiVersion" jsonschema:"enum=modelgit.dev/v1alpha1"`
	Kind        string            `yaml:"kind" json:"kind" jsonschema:"enum=Model"`
	Name        string            `yaml:"name" json:"name" validate:"required"`
	Owner       string            `yaml:"owner,omitempty" json:"owner,omitempty"`
	Description string            `yaml:"description,omitempty" json:"description,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	// Metrics declares the better direction of each metric: "higher" or
	// "lower". Undeclared metrics are treated as higher-is-better unless
	// their name says otherwise (loss, error, latency, …).
	Metrics map[string]string `yaml:"metrics,omitempty" json:"metrics,omitempty"`
	Serving *Serving          `yaml:"serving,omitempty" json:"serving,omitempty"`
	// Register remembers how the model is registered: what `modelgit
	// register MODEL` uses for a flag that is not given.
	Register *RegisterInputs `yaml:"register,omitempty" json:"register,omitempty"`
}

// RegisterInputs are the inputs of register that a model remembers. Paths
// are relative to the repository root, or absolute.
type RegisterInputs struct {
	Weights    string `yaml:"weights,omitempty" json:"weights,omitempty"`
	Pipeline   string `yaml:"pipeline,omitempty" json:"pipeline,omitempty"`
	Schema     string `yaml:"schema,omitempty" json:"schema,omitempty"`
	Config     string `yaml:"config,omitempty" json:"config,omitempty"`
	Metrics    string `yaml:"metrics,omitempty" json:"metrics,omitempty"`
	Params     string `yaml:"params,omitempty" json:"params,omitempty"`
	Data       string `yaml:"data,omitempty" json:"data,omitempty"`
	DataSource string `yaml:"dataSource,omitempty" json:"dataSource,omitempty"`
	// Framework is NAME=VERSION.
	Framework string `yaml:"framework,omitempty" json:"framework,omitempty"`
}

// Serving are the defaults used to render a model's Kubernetes objects.
type Serving struct {
	// Runtime is "kserve" (the default) or "deployment".
	Runtime string `yaml:"runtime,omitempty" json:"runtime,omitempty"`
	// Format is the KServe model format, e.g. "pytorch", "sklearn", "onnx".
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
	// Image is the serving container image for runtime "deployment".
	Image string `yaml:"image,omitempty" json:"image,omitempty"`
	Port  int    `yaml:"port,omitempty" json:"port,omitempty"`
}

// ModelVersion is models/<model>/versions/<version>.yaml. It is immutable
// once merged: its digest (Digest) pins exact bytes.
type ModelVersion struct {
	APIVersion string  `yaml:"apiVersion" json:"apiVersion" jsonschema:"enum=modelgit.dev/v1alpha1"`
	Kind       string  `yaml:"kind" json:"kind" jsonschema:"enum=ModelVersion"`
	Model      string  `yaml:"model" json:"model" validate:"required"`
	Version    Version `yaml:"version" json:"version" validate:"required"`
	// Reason says why this version number was chosen (the bump rule).
	Reason    string    `yaml:"reason,omitempty" json:"reason,omitempty"`
	Artifacts Artifacts `yaml:"artifacts" json:"artifacts" validate:"required"`
	// Data is the training data: its tree digest and lineage.
	Data *Data `yaml:"data,omitempty" json:"data,omitempty"`
	// Features is the feature schema (name → type) read from the schema
	// artifact, kept here so versions can be compared from Git alone.
	Features map[string]string `yaml:"features,omitempty" json:"features,omitempty"`
	// Interface is the inference API (inputs and outputs, name → type)
	// read from the inference config artifact.
	Interface *Interface `yaml:"interface,omitempty" json:"interface,omitempty"`
	// Params are the hyperparameters, as given.
	Params map[string]any `yaml:"params,omitempty" json:"params,omitempty"`
	// Metrics are the validation metrics every later gate compares against.
	Metrics   map[string]float64 `yaml:"metrics,omitempty" json:"metrics,omitempty"`
	TrainedAt *time.Time         `yaml:"trainedAt,omitempty" json:"trainedAt,omitempty"`
	Framework *Framework         `yaml:"framework,omitempty" json:"framework,omitempty"`
	// Libraries maps library name to version.
	Libraries map[string]string `yaml:"libraries,omitempty" json:"libraries,omitempty"`
	// Targets are the clusters or environments this version may deploy to.
	Targets      []string  `yaml:"targets,omitempty" json:"targets,omitempty"`
	RegisteredBy string    `yaml:"registeredBy" json:"registeredBy" validate:"required"`
	RegisteredAt time.Time `yaml:"registeredAt" json:"registeredAt" validate:"required"`
}

// Artifact kinds, the keys of Artifacts.
const (
	ArtifactWeights  = "weights"
	ArtifactPipeline = "pipeline"
	ArtifactSchema   = "schema"
	ArtifactConfig   = "config"
)

// Artifacts are the content-addressed files of a version.
type Artifacts struct {
	Weights  *Artifact `yaml:"weights" json:"weights" validate:"required"`
	Pipeline *Artifact `yaml:"pipeline,omitempty" json:"pipeline,omitempty"`
	Schema   *Artifact `yaml:"schema,omitempty" json:"schema,omitempty"`
	Config   *Artifact `yaml:"config,omitempty" json:"config,omitempty"`
}

// Each calls fn for every artifact present, in the fixed order weights,
// pipeline, schema, config.
func (a Artifacts) Each(fn func(kind string, art *Artifact)) {
	for _, k := range []struct {
		kind string
		art  *Artifact
	}{{ArtifactWeights, a.Weights}, {ArtifactPipeline, a.Pipeline}, {ArtifactSchema, a.Schema}, {ArtifactConfig, a.Config}} {
		if k.art != nil {
			fn(k.kind, k.art)
		}
	}
}

// MediaTypeTree is the media type of a directory artifact: its digest is
// that of a listing blob, one "<digest> <size> <path>" line per file.
const MediaTypeTree = "application/vnd.modelgit.tree.v1+text"

// Artifact is a reference to stored bytes.
type Artifact struct {
	// Path is the file or directory name as registered (base name only).
	Path      string `yaml:"path" json:"path" validate:"required"`
	Digest    Digest `yaml:"digest" json:"digest" validate:"required"`
	Size      int64  `yaml:"size" json:"size"`
	MediaType string `yaml:"mediaType" json:"mediaType" validate:"required"`
}

// Data describes the training data.
type Data struct {
	// Digest is the tree digest of the data directory (or the file digest).
	Digest Digest `yaml:"digest" json:"digest" validate:"required"`
	Path   string `yaml:"path,omitempty" json:"path,omitempty"`
	Files  int    `yaml:"files,omitempty" json:"files,omitempty"`
	Size   int64  `yaml:"size,omitempty" json:"size,omitempty"`
	// Source says where the data came from (a URL, a dataset name).
	Source string `yaml:"source,omitempty" json:"source,omitempty"`
	// Parents are digests of data sets this one was derived from.
	Parents []Digest `yaml:"parents,omitempty" json:"parents,omitempty"`
}

// Interface is a model's inference API.
type Interface struct {
	Inputs  map[string]string `yaml:"inputs,omitempty" json:"inputs,omitempty"`
	Outputs map[string]string `yaml:"outputs,omitempty" json:"outputs,omitempty"`
}

// Framework is the training framework.
type Framework struct {
	Name    string `yaml:"name" json:"name" validate:"required"`
	Version string `yaml:"version,omitempty" json:"version,omitempty"`
}

// Release strategies.
const (
	StrategyReplace   = "replace"
	StrategyCanary    = "canary"
	StrategyBlueGreen = "blue-green"
	StrategyAB        = "ab"
)

// Release is environments/<env>/<model>.yaml: which version(s) run there.
type Release struct {
	APIVersion  string `yaml:"apiVersion" json:"apiVersion" jsonschema:"enum=modelgit.dev/v1alpha1"`
	Kind        string `yaml:"kind" json:"kind" jsonschema:"enum=Release"`
	Model       string `yaml:"model" json:"model" validate:"required"`
	Environment string `yaml:"environment" json:"environment" validate:"required"`
	Strategy    string `yaml:"strategy" json:"strategy" validate:"required" jsonschema:"enum=replace,enum=canary,enum=blue-green,enum=ab"`
	// Versions are pinned by version and digest. For replace there is one;
	// for canary the stable then the canary; for blue-green the active
	// then the standby; for ab the A then the B variant.
	Versions []ReleasedVersion `yaml:"versions" json:"versions" validate:"required"`
	// Match is the header match for ab, "name=value".
	Match string `yaml:"match,omitempty" json:"match,omitempty"`
}

// ReleasedVersion is one version in a Release.
type ReleasedVersion struct {
	Version Version `yaml:"version" json:"version" validate:"required"`
	Digest  Digest  `yaml:"digest" json:"digest" validate:"required"`
	// Weight is the percentage of traffic (canary, blue-green).
	Weight *int `yaml:"weight,omitempty" json:"weight,omitempty"`
	// Role is "stable", "canary", "active", "standby", "a" or "b".
	Role string `yaml:"role,omitempty" json:"role,omitempty"`
	// StorageURI, when set, is where the serving runtime loads this
	// version from, pinned by digest (for an OCI store,
	// oci://REGISTRY/REPO@sha256:…); promote resolves it so rendering
	// stays a pure function of the repository.
	StorageURI string `yaml:"storageUri,omitempty" json:"storageUri,omitempty"`
}
