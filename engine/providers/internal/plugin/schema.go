// Package plugin is the resource-provider plumbing shared by this project's `tls` and
// `command` providers: a strict input schema (every property the SDK can send is handled or
// refused by name, nothing is silently ignored), typed access to checked inputs, a generic
// diff, and the gRPC server the Pulumi engine talks to.
package plugin

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Kind is the wire type an input property must have.
type Kind int

const (
	String Kind = iota
	Bool
	Integer
	StringList
	StringMap
	Object
	// AnyList is a list of arbitrary values (command `triggers`).
	AnyList
	// AssetOrArchive is a Pulumi asset or archive (command `source`).
	AssetOrArchive
)

func (k Kind) String() string {
	return [...]string{"a string", "a boolean", "an integer", "a list of strings", "a map of strings",
		"an object", "a list", "an asset or archive"}[k]
}

// Field declares one input property.
type Field struct {
	Name     string
	Kind     Kind
	Required bool
	// Default applies when the property is absent or null (a zero PropertyValue means none).
	Default resource.PropertyValue
	// Enum limits a String to these values.
	Enum []string
	// Fields of an Object.
	Fields []Field
	// Unsupported, when set, refuses any non-null value with this reason: the SDK can send the
	// property, this provider does not implement it, and it must not be silently ignored.
	Unsupported string
	// Validate checks a known (non-unknown, secret-unwrapped) value; it returns a reason or "".
	Validate func(v resource.PropertyValue) string
	// Replaces marks a property whose change replaces the resource instead of updating it.
	Replaces bool
}

// Schema is the input surface of one resource type or function.
type Schema struct {
	Token  string
	Fields []Field
}

// Failure is a check failure: the property path and why it was refused.
type Failure struct {
	Property string
	Reason   string
}

func (f Failure) Error() string { return fmt.Sprintf("%s: %s", f.Property, f.Reason) }

// Check validates news against the schema and returns them with defaults applied. Unknown
// values (preview) pass through unchecked; secrets are checked through and kept secret.
func (s *Schema) Check(news resource.PropertyMap) (resource.PropertyMap, []Failure) {
	return checkObject(s.Token, s.Fields, news, "")
}

func checkObject(token string, fields []Field, news resource.PropertyMap, prefix string) (resource.PropertyMap, []Failure) {
	out := resource.PropertyMap{}
	var failures []Failure
	keys := make([]string, 0, len(news))
	for k := range news {
		keys = append(keys, string(k))
	}
	slices.Sort(keys)
	for _, k := range keys {
		if prefix == "" && resource.IsInternalPropertyKey(resource.PropertyKey(k)) {
			continue // engine bookkeeping such as __defaults
		}
		if !slices.ContainsFunc(fields, func(f Field) bool { return f.Name == k }) {
			names := make([]string, len(fields))
			for i, f := range fields {
				names[i] = f.Name
			}
			failures = append(failures, Failure{prefix + k, fmt.Sprintf(
				"%s has no input property %q (known: %s)", token, prefix+k, strings.Join(names, ", "))})
		}
	}
	for _, f := range fields {
		path := prefix + f.Name
		v, present := news[resource.PropertyKey(f.Name)]
		if !present || v.IsNull() {
			if f.Default.V != nil {
				out[resource.PropertyKey(f.Name)] = f.Default
			} else if f.Required {
				failures = append(failures, Failure{path, fmt.Sprintf("property %s is required", path)})
			}
			continue
		}
		out[resource.PropertyKey(f.Name)] = v
		if f.Unsupported != "" {
			failures = append(failures, Failure{path, fmt.Sprintf(
				"property %s is not supported by this provider (api-proxy-security engine/providers): %s", path, f.Unsupported)})
			continue
		}
		checked, fs := checkValue(token, f, Plain(v), path)
		failures = append(failures, fs...)
		if checked.V != nil {
			if v.IsSecret() {
				checked = resource.MakeSecret(checked)
			}
			out[resource.PropertyKey(f.Name)] = checked
		}
	}
	return out, failures
}

// checkValue checks one value; it returns a replacement value (objects with defaults) or a
// zero value to keep the input as it is.
func checkValue(token string, f Field, v resource.PropertyValue, path string) (resource.PropertyValue, []Failure) {
	if v.ContainsUnknowns() && !v.IsObject() {
		return resource.PropertyValue{}, nil
	}
	wrong := func() []Failure {
		return []Failure{{path, fmt.Sprintf("property %s must be %s, got %s", path, f.Kind, v.TypeString())}}
	}
	switch f.Kind {
	case String:
		if !v.IsString() {
			return resource.PropertyValue{}, wrong()
		}
		if len(f.Enum) > 0 && !slices.Contains(f.Enum, v.StringValue()) {
			return resource.PropertyValue{}, []Failure{{path, fmt.Sprintf(
				"property %s must be one of %s, got %q", path, strings.Join(f.Enum, ", "), v.StringValue())}}
		}
	case Bool:
		if !v.IsBool() {
			return resource.PropertyValue{}, wrong()
		}
	case Integer:
		if !v.IsNumber() || v.NumberValue() != math.Trunc(v.NumberValue()) {
			return resource.PropertyValue{}, wrong()
		}
	case StringList:
		if !v.IsArray() {
			return resource.PropertyValue{}, wrong()
		}
		for i, e := range v.ArrayValue() {
			if e = Plain(e); !e.IsComputed() && !e.IsString() {
				return resource.PropertyValue{}, []Failure{{fmt.Sprintf("%s[%d]", path, i),
					fmt.Sprintf("property %s[%d] must be a string, got %s", path, i, e.TypeString())}}
			}
		}
	case StringMap:
		if !v.IsObject() {
			return resource.PropertyValue{}, wrong()
		}
		for k, e := range v.ObjectValue() {
			if e = Plain(e); !e.IsComputed() && !e.IsString() {
				return resource.PropertyValue{}, []Failure{{path + "." + string(k),
					fmt.Sprintf("property %s.%s must be a string, got %s", path, k, e.TypeString())}}
			}
		}
	case Object:
		if !v.IsObject() {
			return resource.PropertyValue{}, wrong()
		}
		obj, fs := checkObject(token, f.Fields, v.ObjectValue(), path+".")
		if len(fs) > 0 {
			return resource.PropertyValue{}, fs
		}
		return resource.NewObjectProperty(obj), nil
	case AnyList:
		if !v.IsArray() {
			return resource.PropertyValue{}, wrong()
		}
	case AssetOrArchive:
		if !v.IsAsset() && !v.IsArchive() {
			return resource.PropertyValue{}, wrong()
		}
	}
	if f.Validate != nil {
		if reason := f.Validate(v); reason != "" {
			return resource.PropertyValue{}, []Failure{{path, fmt.Sprintf("property %s %s", path, reason)}}
		}
	}
	return resource.PropertyValue{}, nil
}

// Plain strips a secret wrapper (outer level only).
func Plain(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsOutput() {
		o := v.OutputValue()
		if !o.Known {
			return resource.MakeComputed(resource.NewStringProperty(""))
		}
		return o.Element
	}
	return v
}

// Unsecret returns a deep copy of v with every secret wrapper removed (for comparisons).
func Unsecret(v resource.PropertyValue) resource.PropertyValue {
	v = Plain(v)
	switch {
	case v.IsArray():
		arr := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			arr[i] = Unsecret(e)
		}
		return resource.NewArrayProperty(arr)
	case v.IsObject():
		return resource.NewObjectProperty(UnsecretMap(v.ObjectValue()))
	}
	return v
}

// UnsecretMap is Unsecret for a whole map.
func UnsecretMap(m resource.PropertyMap) resource.PropertyMap {
	out := make(resource.PropertyMap, len(m))
	for k, v := range m {
		out[k] = Unsecret(v)
	}
	return out
}

// Known reports whether v (through secrets) holds no unknown value.
func Known(v resource.PropertyValue) bool { return !v.ContainsUnknowns() }
