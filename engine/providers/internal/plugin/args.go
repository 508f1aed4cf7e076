package plugin

import (
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Args gives typed access to checked, fully known inputs (Create, Update, Delete, Invoke).
// The schema's Check has already refused wrong types, so the accessors only unwrap.
type Args struct{ M resource.PropertyMap }

func (a Args) value(k string) (resource.PropertyValue, bool) {
	v, ok := a.M[resource.PropertyKey(k)]
	if !ok {
		return v, false
	}
	v = Plain(v)
	return v, !v.IsNull()
}

// Has reports whether k is set (not absent, not null).
func (a Args) Has(k string) bool { _, ok := a.value(k); return ok }

// IsSecret reports whether k (or anything inside it) is a secret.
func (a Args) IsSecret(k string) bool {
	v, ok := a.M[resource.PropertyKey(k)]
	return ok && v.ContainsSecrets()
}

func (a Args) Str(k string) string {
	if v, ok := a.value(k); ok && v.IsString() {
		return v.StringValue()
	}
	return ""
}

func (a Args) Bool(k string) bool {
	v, ok := a.value(k)
	return ok && v.IsBool() && v.BoolValue()
}

func (a Args) Int(k string) int {
	if v, ok := a.value(k); ok && v.IsNumber() {
		return int(v.NumberValue())
	}
	return 0
}

func (a Args) StrList(k string) []string {
	v, ok := a.value(k)
	if !ok || !v.IsArray() {
		return nil
	}
	out := make([]string, 0, len(v.ArrayValue()))
	for _, e := range v.ArrayValue() {
		if e = Plain(e); e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

// StrMap returns a map input as sorted key/value pairs.
func (a Args) StrMap(k string) [][2]string {
	v, ok := a.value(k)
	if !ok || !v.IsObject() {
		return nil
	}
	var out [][2]string
	for key, e := range v.ObjectValue() {
		if e = Plain(e); e.IsString() {
			out = append(out, [2]string{string(key), e.StringValue()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func (a Args) Obj(k string) Args {
	if v, ok := a.value(k); ok && v.IsObject() {
		return Args{v.ObjectValue()}
	}
	return Args{resource.PropertyMap{}}
}

// Raw is the property as sent (secret wrappers kept), for echoing inputs into outputs.
func (a Args) Raw(k string) (resource.PropertyValue, bool) {
	v, ok := a.M[resource.PropertyKey(k)]
	return v, ok && !v.IsNull()
}
