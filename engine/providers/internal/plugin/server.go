package plugin

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	rplugin "github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Call is the context of one engine request.
type Call struct {
	Ctx     context.Context
	URN     resource.URN
	Preview bool
	host    *provider.HostClient
}

// Log sends a message to the engine for this resource (shown in `pulumi up`).
func (c Call) Log(sev diag.Severity, msg string) {
	if c.host != nil {
		_ = c.host.Log(c.Ctx, sev, c.URN, msg)
	}
}

// Status sends an ephemeral status line (the progress display's Info column).
func (c Call) Status(msg string) {
	if c.host != nil {
		_ = c.host.LogStatus(c.Ctx, diag.Info, c.URN, msg)
	}
}

// Resource is one resource type. Inputs arrive checked (Schema.Check) and fully known.
type Resource interface {
	Schema() *Schema
	// Outputs lists the computed-only output properties (unknown during preview).
	Outputs() []string
	Create(c Call, in Args) (id string, outputs resource.PropertyMap, err error)
	// Read refreshes state; nil outputs with a nil error mean the resource is gone.
	Read(c Call, id string, in Args, state resource.PropertyMap) (resource.PropertyMap, error)
	Update(c Call, id string, in, oldIn Args, state resource.PropertyMap) (resource.PropertyMap, error)
	Delete(c Call, id string, in Args, state resource.PropertyMap) error
}

// Validator adds semantic checks beyond types; it sees only known values of checked inputs.
type Validator interface {
	Validate(in resource.PropertyMap) []Failure
}

// Renewer forces a replacement from state alone (a certificate inside its renewal window).
type Renewer interface {
	// MustReplace returns the output property that forces replacement, or "".
	MustReplace(state resource.PropertyMap, news resource.PropertyMap) string
}

// Function is an invoke (data source).
type Function struct {
	Schema *Schema
	Invoke func(c Call, in Args) (resource.PropertyMap, error)
}

// Provider serves the Pulumi resource-provider protocol for a set of resources and functions.
type Provider struct {
	pulumirpc.UnimplementedResourceProviderServer
	Name, Version string
	Resources     map[string]Resource
	Functions     map[string]Function
	// Config is the provider configuration surface (inputs of the SDK's Provider resource).
	Config      *Schema
	OnConfigure func(in Args) error

	host   *provider.HostClient
	mu     sync.Mutex
	ctx    context.Context
	cancel context.CancelFunc
}

// Serve runs the provider until the engine shuts it down.
func (p *Provider) Serve() error {
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return provider.Main(p.Name, func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		p.host = host
		return p, nil
	})
}

var (
	inOpts  = rplugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true, SkipNulls: true}
	outOpts = rplugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true, SkipNulls: true}
)

func unmarshal(s *structpb.Struct, label string) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	o := inOpts
	o.Label = label
	return rplugin.UnmarshalProperties(s, o)
}

func marshal(m resource.PropertyMap, label string) (*structpb.Struct, error) {
	o := outOpts
	o.Label = label
	return rplugin.MarshalProperties(m, o)
}

func (p *Provider) call(ctx context.Context, urn string, preview bool) Call {
	return Call{Ctx: ctx, URN: resource.URN(urn), Preview: preview, host: p.host}
}

func (p *Provider) resource(urn string) (Resource, error) {
	tok := string(resource.URN(urn).Type())
	r, ok := p.Resources[tok]
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument,
			"%s: resource type %s is not implemented by this provider (api-proxy-security engine/providers/%s %s)",
			urn, tok, p.Name, p.Version)
	}
	return r, nil
}

func (p *Provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: p.Version}, nil
}

func (p *Provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return nil, status.Error(codes.Unimplemented,
		"this provider serves no schema: use the published @pulumi SDK of the same version")
}

func (p *Provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel != nil {
		p.cancel()
	}
	return &emptypb.Empty{}, nil
}

// requestContext ends when either the request or the provider (Cancel) ends.
func (p *Provider) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	if p.ctx != nil {
		stop := context.AfterFunc(p.ctx, cancel)
		return ctx, func() { stop(); cancel() }
	}
	return ctx, cancel
}

func failuresToRPC(fs []Failure) []*pulumirpc.CheckFailure {
	out := make([]*pulumirpc.CheckFailure, len(fs))
	for i, f := range fs {
		out[i] = &pulumirpc.CheckFailure{Property: f.Property, Reason: f.Reason}
	}
	return out
}

func (p *Provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.GetNews(), "config.news")
	if err != nil {
		return nil, err
	}
	// The engine adds `version` to every provider's inputs; it is not configuration.
	delete(news, "version")
	checked, failures := p.Config.Check(news)
	if v, ok := req.GetNews().GetFields()["version"]; ok {
		checked["version"] = resource.NewStringProperty(v.GetStringValue())
	}
	inputs, err := marshal(checked, "config.inputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failuresToRPC(failures)}, nil
}

func (p *Provider) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOldInputs(), "config.olds")
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), "config.news")
	if err != nil {
		return nil, err
	}
	return diff(p.Config, olds, news, req.GetIgnoreChanges()), nil
}

func (p *Provider) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	args, err := unmarshal(req.GetArgs(), "config")
	if err != nil {
		return nil, err
	}
	delete(args, "version")
	checked, failures := p.Config.Check(args)
	if len(failures) > 0 {
		return nil, status.Errorf(codes.InvalidArgument, "%s provider configuration: %v", p.Name, failures)
	}
	if p.OnConfigure != nil && !checked.ContainsUnknowns() {
		if err := p.OnConfigure(Args{checked}); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

func (p *Provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	r, err := p.resource(req.GetUrn())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), "news")
	if err != nil {
		return nil, err
	}
	checked, failures := r.Schema().Check(news)
	if v, ok := r.(Validator); ok && len(failures) == 0 {
		failures = v.Validate(checked)
	}
	inputs, err := marshal(checked, "inputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failuresToRPC(failures)}, nil
}

// inputsOf recovers the inputs from a state when the engine sent no old inputs.
func inputsOf(s *Schema, state resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for _, f := range s.Fields {
		if v, ok := state[resource.PropertyKey(f.Name)]; ok {
			out[resource.PropertyKey(f.Name)] = v
		}
	}
	return out
}

// decoded is a request's resource type and its property maps (absent ones empty).
type decoded struct {
	r                      Resource
	state, news, oldInputs resource.PropertyMap
}

// decode resolves the resource type and unmarshals state and news; old inputs come from the
// request, or from the state when the engine sent none.
func (p *Provider) decode(urn string, state, news, oldInputs *structpb.Struct) (decoded, error) {
	var d decoded
	var err error
	if d.r, err = p.resource(urn); err != nil {
		return d, err
	}
	if d.state, err = unmarshal(state, "state"); err != nil {
		return d, err
	}
	if d.news, err = unmarshal(news, "news"); err != nil {
		return d, err
	}
	if len(oldInputs.GetFields()) == 0 {
		d.oldInputs = inputsOf(d.r.Schema(), d.state)
	} else if d.oldInputs, err = unmarshal(oldInputs, "oldInputs"); err != nil {
		return d, err
	}
	return d, nil
}

func (p *Provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	dec, err := p.decode(req.GetUrn(), req.GetOlds(), req.GetNews(), req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	r, state, news, oldInputs := dec.r, dec.state, dec.news, dec.oldInputs
	var renew string
	if rn, ok := r.(Renewer); ok {
		renew = rn.MustReplace(state, news)
	}
	d := diff(r.Schema(), oldInputs, news, req.GetIgnoreChanges())
	if renew != "" {
		d.Changes = pulumirpc.DiffResponse_DIFF_SOME
		d.Replaces = append(d.Replaces, renew)
		d.Diffs = append(d.Diffs, renew)
		d.DetailedDiff[renew] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE_REPLACE}
	}
	return d, nil
}

// diff compares old and new inputs field by field; unknown new values count as changes.
func diff(s *Schema, olds, news resource.PropertyMap, ignore []string) *pulumirpc.DiffResponse {
	d := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, DetailedDiff: map[string]*pulumirpc.PropertyDiff{},
		HasDetailedDiff: true}
	for _, f := range s.Fields {
		if slices.Contains(ignore, f.Name) {
			continue
		}
		k := resource.PropertyKey(f.Name)
		o, hasOld := olds[k]
		n, hasNew := news[k]
		hasOld = hasOld && !o.IsNull()
		hasNew = hasNew && !n.IsNull()
		var kind pulumirpc.PropertyDiff_Kind
		switch {
		case !hasOld && !hasNew:
			continue
		case hasNew && n.ContainsUnknowns():
			kind = pulumirpc.PropertyDiff_UPDATE
		case !hasOld:
			kind = pulumirpc.PropertyDiff_ADD
		case !hasNew:
			kind = pulumirpc.PropertyDiff_DELETE
		case Unsecret(o).DeepEquals(Unsecret(n)):
			continue
		default:
			kind = pulumirpc.PropertyDiff_UPDATE
		}
		d.Changes = pulumirpc.DiffResponse_DIFF_SOME
		d.Diffs = append(d.Diffs, f.Name)
		if f.Replaces {
			kind += pulumirpc.PropertyDiff_ADD_REPLACE - pulumirpc.PropertyDiff_ADD
			d.Replaces = append(d.Replaces, f.Name)
		}
		d.DetailedDiff[f.Name] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	return d
}

// previewOutputs: the inputs as planned, every computed output unknown.
func previewOutputs(r Resource, news resource.PropertyMap) resource.PropertyMap {
	out := news.Copy()
	for _, k := range r.Outputs() {
		out[resource.PropertyKey(k)] = resource.MakeComputed(resource.NewStringProperty(""))
	}
	return out
}

func (p *Provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	r, err := p.resource(req.GetUrn())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetProperties(), "properties")
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		props, err := marshal(previewOutputs(r, news), "preview")
		return &pulumirpc.CreateResponse{Properties: props}, err
	}
	if news.ContainsUnknowns() {
		return nil, fmt.Errorf("%s: inputs still unknown at create", req.GetUrn())
	}
	ctx, cancel := p.requestContext(ctx)
	defer cancel()
	id, outs, err := r.Create(p.call(ctx, req.GetUrn(), false), Args{news})
	if err != nil {
		return nil, err
	}
	props, err := marshal(outs, "outputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

func (p *Provider) Read(ctx context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	dec, err := p.decode(req.GetUrn(), req.GetProperties(), nil, req.GetInputs())
	if err != nil {
		return nil, err
	}
	r, state, inputs := dec.r, dec.state, dec.oldInputs
	ctx, cancel := p.requestContext(ctx)
	defer cancel()
	outs, err := r.Read(p.call(ctx, req.GetUrn(), false), req.GetId(), Args{inputs}, state)
	if err != nil {
		return nil, err
	}
	if outs == nil {
		return &pulumirpc.ReadResponse{}, nil // gone: the engine drops it from state
	}
	props, err := marshal(outs, "outputs")
	if err != nil {
		return nil, err
	}
	ins, err := marshal(inputs, "inputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: props, Inputs: ins}, nil
}

func (p *Provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	dec, err := p.decode(req.GetUrn(), req.GetOlds(), req.GetNews(), req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	r, state, news, oldInputs := dec.r, dec.state, dec.news, dec.oldInputs
	if req.GetPreview() {
		props, err := marshal(previewOutputs(r, news), "preview")
		return &pulumirpc.UpdateResponse{Properties: props}, err
	}
	ctx, cancel := p.requestContext(ctx)
	defer cancel()
	outs, err := r.Update(p.call(ctx, req.GetUrn(), false), req.GetId(), Args{news}, Args{oldInputs}, state)
	if err != nil {
		return nil, err
	}
	props, err := marshal(outs, "outputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *Provider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	dec, err := p.decode(req.GetUrn(), req.GetProperties(), nil, req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	r, state, inputs := dec.r, dec.state, dec.oldInputs
	ctx, cancel := p.requestContext(ctx)
	defer cancel()
	if err := r.Delete(p.call(ctx, req.GetUrn(), false), req.GetId(), Args{inputs}, state); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (p *Provider) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	fn, ok := p.Functions[req.GetTok()]
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument,
			"function %s is not implemented by this provider (api-proxy-security engine/providers/%s %s)",
			req.GetTok(), p.Name, p.Version)
	}
	args, err := unmarshal(req.GetArgs(), "args")
	if err != nil {
		return nil, err
	}
	checked, failures := fn.Schema.Check(args)
	if len(failures) > 0 {
		return &pulumirpc.InvokeResponse{Failures: failuresToRPC(failures)}, nil
	}
	if checked.ContainsUnknowns() {
		return nil, fmt.Errorf("%s: arguments are not known yet", req.GetTok())
	}
	ctx, cancel := p.requestContext(ctx)
	defer cancel()
	outs, err := fn.Invoke(p.call(ctx, "", req.GetPreview()), Args{checked})
	if err != nil {
		return nil, err
	}
	ret, err := marshal(outs, "return")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}
