// JSON body validation runtime: interprets components/validation's compiled schemas (ir.ts).
// Runs unchanged in Node 20 and njs 0.7.9 (nginx js_content) and is concatenated into the
// generated njs module, so: no export, no module.exports, two top-level names only.
// What njs 0.7.9 lacks or does differently (checked with its CLI; see README.md): no class,
// generators, for...of, spread, destructuring, default parameters, optional chaining, catch
// without a binding, Map, Set, Array.from, BigInt, regex u/s flags; strings are code points
// (length, charCodeAt); JSON.parse and JSON.stringify stop at 32 nesting levels; the call stack
// holds only ~80-250 frames, so validation runs on a work stack, not by recursion.
// Reasons never contain the offending value (no payload echo): they name the rule that failed.

// Parses a request body with bounds checked BEFORE JSON.parse, so a hostile body cannot
// exhaust the stack or memory: nesting depth, number of values, duplicate member names
// (RFC 8259 4: names SHOULD be unique; parsers disagree on which duplicate wins, so the proxy
// and the upstream could see different values). Returns { value } or { error }.
function apiproxyParseJson(text, limits) {
    // njs's JSON.parse refuses 32 levels; capping here keeps Node and njs alike.
    var NJS_JSON_MAX_DEPTH = 31;
    var maxDepth = limits && limits.maxDepth > 0 ? Math.min(limits.maxDepth, NJS_JSON_MAX_DEPTH) : 24;
    var maxNodes = limits && limits.maxNodes > 0 ? limits.maxNodes : 10000;
    if (typeof text !== 'string') {
        return { error: 'the body is not text' };
    }
    var depth = 0;
    var nodes = 1;
    var opened = false;
    var stack = [];
    var keySets = [];
    var expectKey = false;
    var n = text.length;
    var i, c, start, key, set, slashes;
    for (i = 0; i < n; i++) {
        c = text.charCodeAt(i);
        if (c === 32 || c === 9 || c === 10 || c === 13) {
            continue;
        }
        if (opened) {
            opened = false;
            if (c !== 93 && c !== 125) {
                nodes++;
            }
        }
        if (c === 34) {
            // The closing quote is the next one preceded by an even number of backslashes.
            start = i + 1;
            for (;;) {
                i = text.indexOf('"', i + 1);
                if (i < 0) {
                    return { error: 'the body is not valid JSON' };
                }
                for (slashes = 0; text.charCodeAt(i - 1 - slashes) === 92; slashes++) {
                    // counts the backslashes before the quote
                }
                if (slashes % 2 === 0) {
                    break;
                }
            }
            if (expectKey) {
                expectKey = false;
                key = text.substring(start, i);
                if (key.indexOf('\\') >= 0) {
                    try {
                        key = JSON.parse('"' + key + '"');
                    } catch (e) {
                        return { error: 'the body is not valid JSON' };
                    }
                }
                set = keySets[depth - 1];
                if (set['k' + key] === 1) {
                    return { error: 'an object has a duplicate member name' };
                }
                set['k' + key] = 1;
            }
        } else if (c === 91 || c === 123) {
            depth++;
            if (depth > maxDepth) {
                return { error: 'the body nests deeper than ' + maxDepth + ' levels' };
            }
            opened = true;
            stack[depth - 1] = c;
            keySets[depth - 1] = c === 123 ? Object.create(null) : null;
            expectKey = c === 123;
        } else if (c === 93 || c === 125) {
            depth--;
            expectKey = false;
        } else if (c === 44) {
            nodes++;
            expectKey = depth > 0 && stack[depth - 1] === 123;
        }
        if (nodes > maxNodes) {
            return { error: 'the body has more than ' + maxNodes + ' values' };
        }
    }
    try {
        return { value: JSON.parse(text) };
    } catch (e) {
        // The engines' messages differ and V8's quotes the text: one fixed reason.
        return { error: 'the body is not valid JSON' };
    }
}

// Checks a parsed value against a compiled schema. Returns null when valid, else the first
// failure as { pointer: RFC 6901 pointer into the body, reason }. "First" is the same in every
// engine: a node's own keywords, then array items by index or object members in code-point
// order of their names, then allOf, anyOf, oneOf, not.
function apiproxyValidateJson(compiled, value, limits) {
    var T_NULL = 1, T_BOOLEAN = 2, T_OBJECT = 4, T_ARRAY = 8, T_NUMBER = 16, T_STRING = 32, T_INTEGER = 64;
    var TYPE_NAMES = [[T_NULL, 'null'], [T_BOOLEAN, 'boolean'], [T_OBJECT, 'object'], [T_ARRAY, 'array'],
        [T_NUMBER, 'number'], [T_STRING, 'string'], [T_INTEGER, 'integer']];
    if (compiled === null || typeof compiled !== 'object' || compiled.version !== 1) {
        throw new Error('apiproxyValidateJson: not a version 1 compiled schema');
    }
    var nodes = compiled.nodes;
    var maxDepth = limits && limits.maxDepth > 0 ? limits.maxDepth : 64;
    var path = [];
    var regexps = [];
    // V8 needs the u flag to read astral characters as one; njs has no u flag and is code-point based.
    var regexFlags = 'u';
    try {
        new RegExp('', regexFlags);
    } catch (e) {
        regexFlags = '';
    }
    var codePointStrings = '\uD83D\uDE00'.length === 1;

    function pointer() {
        var out = '';
        for (var i = 0; i < path.length; i++) {
            out += '/' + String(path[i]).replace(/~/g, '~0').replace(/\//g, '~1');
        }
        return out;
    }

    function fail(reason) {
        return { pointer: pointer(), reason: reason };
    }

    // A failure at a member or item below the current value (a missing required property).
    function failAt(segment, reason) {
        path.push(segment);
        var failure = fail(reason);
        path.pop();
        return failure;
    }

    function kindOf(v) {
        if (v === null) {
            return T_NULL;
        }
        switch (typeof v) {
        case 'boolean': return T_BOOLEAN;
        case 'number': return T_NUMBER;
        case 'string': return T_STRING;
        case 'object': return Array.isArray(v) ? T_ARRAY : T_OBJECT;
        }
        return 0;
    }

    function typeNames(bits) {
        var names = [];
        for (var i = 0; i < TYPE_NAMES.length; i++) {
            if (bits & TYPE_NAMES[i][0]) {
                names.push(TYPE_NAMES[i][1]);
            }
        }
        return names.length === 1 ? names[0] : 'one of ' + names.join(', ');
    }

    // Orders names by code point in both engines (V8 compares UTF-16 units; njs code points).
    function unitRank(c) {
        return c < 0xD800 ? c : c < 0xE000 ? c + 0x2000 : c < 0x10000 ? c - 0x800 : c;
    }

    function compareNames(a, b) {
        var n = Math.min(a.length, b.length);
        for (var i = 0; i < n; i++) {
            var x = a.charCodeAt(i), y = b.charCodeAt(i);
            if (x !== y) {
                return unitRank(x) - unitRank(y);
            }
        }
        return a.length - b.length;
    }

    function codePoints(s) {
        if (codePointStrings) {
            return s.length;
        }
        var count = 0;
        for (var i = 0; i < s.length; i++) {
            var c = s.charCodeAt(i);
            if (c >= 0xD800 && c <= 0xDBFF && i + 1 < s.length) {
                var d = s.charCodeAt(i + 1);
                if (d >= 0xDC00 && d <= 0xDFFF) {
                    i++;
                }
            }
            count++;
        }
        return count;
    }

    // A string that is equal for equal JSON values (member order and 1 vs 1.0 do not matter).
    function canonical(v) {
        var k = kindOf(v), i, keys, out;
        if (k === T_STRING) {
            return JSON.stringify(v);
        }
        if (k === T_ARRAY) {
            out = '[';
            for (i = 0; i < v.length; i++) {
                out += (i > 0 ? ',' : '') + canonical(v[i]);
            }
            return out + ']';
        }
        if (k === T_OBJECT) {
            keys = Object.keys(v).sort(compareNames);
            out = '{';
            for (i = 0; i < keys.length; i++) {
                out += (i > 0 ? ',' : '') + JSON.stringify(keys[i]) + ':' + canonical(v[keys[i]]);
            }
            return out + '}';
        }
        return String(v);
    }

    function regexp(index) {
        if (regexps[index] === undefined) {
            regexps[index] = new RegExp(compiled.patterns[index].source, regexFlags);
        }
        return regexps[index];
    }

    // null = no match, true = match, false = the engine gave up (PCRE2 match limit): fail closed.
    function matches(index, s) {
        if (s.length === 0) {
            // njs 0.7.9 never matches "" against a UTF-mode pattern: the compiler's answer.
            return compiled.patterns[index].matchesEmpty ? true : null;
        }
        try {
            return regexp(index).test(s) ? true : null;
        } catch (e) {
            return false;
        }
    }

    function isMultiple(v, m) {
        if (Number.isInteger(v) && Number.isInteger(m)) {
            return v % m === 0;
        }
        // Decimal steps (0.01) are not exact in binary: compare as scaled integers when that is exact.
        var scale = Math.pow(10, Math.max(decimals(v), decimals(m)));
        var sv = v * scale, sm = m * scale;
        if (scale <= 1e15 && Math.abs(sv) < 9007199254740992) {
            return Math.round(sv) % Math.round(sm) === 0;
        }
        return Number.isInteger(v / m);
    }

    function decimals(x) {
        var s = String(x);
        var e = s.indexOf('e');
        var exponent = e >= 0 ? Number(s.substring(e + 1)) : 0;
        var mantissa = e >= 0 ? s.substring(0, e) : s;
        var dot = mantissa.indexOf('.');
        var digits = dot >= 0 ? mantissa.length - dot - 1 : 0;
        return Math.max(0, digits - exponent);
    }

    function checkNumber(node, v) {
        if (!isFinite(v)) {
            return fail('must be a finite number');
        }
        if (node.minimum !== undefined && v < node.minimum) {
            return fail('must be >= ' + node.minimum);
        }
        if (node.exclusiveMinimum !== undefined && v <= node.exclusiveMinimum) {
            return fail('must be > ' + node.exclusiveMinimum);
        }
        if (node.maximum !== undefined && v > node.maximum) {
            return fail('must be <= ' + node.maximum);
        }
        if (node.exclusiveMaximum !== undefined && v >= node.exclusiveMaximum) {
            return fail('must be < ' + node.exclusiveMaximum);
        }
        if (node.multipleOf !== undefined && !isMultiple(v, node.multipleOf)) {
            return fail('must be a multiple of ' + node.multipleOf);
        }
        if (node.format !== undefined && !numberFormat(node.format, v)) {
            return fail('must be a valid ' + node.format);
        }
        return null;
    }

    function numberFormat(format, v) {
        switch (format) {
        case 'int32': return Number.isInteger(v) && v >= -2147483648 && v <= 2147483647;
        case 'int64': return Number.isInteger(v) && v >= -9223372036854775808 && v <= 9223372036854775808;
        case 'float': return Math.abs(v) <= 3.4028234663852886e38;
        case 'double': return true;
        }
        return kindOfFormat(format) !== T_NUMBER;
    }

    function kindOfFormat(format) {
        switch (format) {
        case 'int32': case 'int64': case 'float': case 'double':
            return T_NUMBER;
        case 'date-time': case 'date': case 'email': case 'uuid': case 'ipv4': case 'ipv6':
        case 'uri': case 'hostname': case 'byte': case 'password': case 'binary':
            return T_STRING;
        }
        throw new Error('apiproxyValidateJson: unknown format ' + format);
    }

    function checkString(node, v) {
        if (node.minLength !== undefined || node.maxLength !== undefined) {
            var length = codePoints(v);
            if (node.minLength !== undefined && length < node.minLength) {
                return fail('must have at least ' + node.minLength + ' characters');
            }
            if (node.maxLength !== undefined && length > node.maxLength) {
                return fail('must have at most ' + node.maxLength + ' characters');
            }
        }
        if (node.pattern !== undefined) {
            var m = matches(node.pattern, v);
            if (m !== true) {
                return fail(m === false ? 'could not be checked against the pattern' : 'must match the pattern');
            }
        }
        if (node.format !== undefined && kindOfFormat(node.format) === T_STRING && !stringFormat(node.format, v)) {
            return fail('must be a valid ' + node.format);
        }
        return null;
    }

    // Each regex below is ASCII-only and anchored with ^...$; no format allows "\n", and PCRE2's
    // $ also matches before a final "\n", so the newline check comes first.
    function stringFormat(format, s) {
        if (format === 'password' || format === 'binary') {
            return true;
        }
        if (s.indexOf('\n') >= 0) {
            return false;
        }
        switch (format) {
        case 'date': return isDate(s);
        case 'date-time': return isDateTime(s);
        case 'uuid': return /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/.test(s);
        case 'ipv4': return isIpv4(s);
        case 'ipv6': return isIpv6(s);
        case 'hostname': return isHostname(s);
        case 'email': return isEmail(s);
        case 'uri': return isUri(s);
        case 'byte': return s.length % 4 === 0 && /^[A-Za-z0-9+\/]*(?:[A-Za-z0-9+\/]{2}==|[A-Za-z0-9+\/]{3}=)?$/.test(s);
        }
        return false;
    }

    function isDate(s) {
        var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
        return m !== null && validDay(Number(m[1]), Number(m[2]), Number(m[3]));
    }

    function validDay(year, month, day) {
        var leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
        var days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        return month >= 1 && month <= 12 && day >= 1 && day <= days[month - 1];
    }

    function isDateTime(s) {
        var m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/.exec(s);
        if (m === null || !validDay(Number(m[1]), Number(m[2]), Number(m[3]))) {
            return false;
        }
        if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60) {
            return false;
        }
        return m[7] === undefined || (Number(m[7]) <= 23 && Number(m[8]) <= 59);
    }

    function isIpv4(s) {
        var parts = s.split('.');
        if (parts.length !== 4) {
            return false;
        }
        for (var i = 0; i < 4; i++) {
            if (!/^(?:0|[1-9]\d{0,2})$/.test(parts[i]) || Number(parts[i]) > 255) {
                return false;
            }
        }
        return true;
    }

    function isIpv6(s) {
        var halves = s.split('::');
        if (halves.length > 2) {
            return false;
        }
        var groups = 0;
        for (var h = 0; h < halves.length; h++) {
            if (halves[h] === '') {
                continue;
            }
            var parts = halves[h].split(':');
            for (var i = 0; i < parts.length; i++) {
                if (i === parts.length - 1 && h === halves.length - 1 && parts[i].indexOf('.') >= 0) {
                    if (!isIpv4(parts[i])) {
                        return false;
                    }
                    groups += 2;
                } else if (/^[0-9A-Fa-f]{1,4}$/.test(parts[i])) {
                    groups += 1;
                } else {
                    return false;
                }
            }
        }
        return halves.length === 2 ? groups <= 7 : groups === 8;
    }

    function isHostname(s) {
        if (s.length === 0 || s.length > 253) {
            return false;
        }
        var labels = s.split('.');
        for (var i = 0; i < labels.length; i++) {
            if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(labels[i])) {
                return false;
            }
        }
        return true;
    }

    function isEmail(s) {
        var at = s.lastIndexOf('@');
        if (at < 1 || at > 64 || s.length > 254) {
            return false;
        }
        var local = s.substring(0, at);
        return /^[A-Za-z0-9!#$%&'*+\/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+\/=?^_`{|}~-]+)*$/.test(local) && isHostname(s.substring(at + 1));
    }

    function isUri(s) {
        return /^[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@\/?#\[\]]|%[0-9A-Fa-f]{2})*$/.test(s) && s.split('#').length <= 2;
    }

    function findProperty(properties, name) {
        if (properties !== undefined) {
            for (var i = 0; i < properties.length; i++) {
                if (properties[i][0] === name) {
                    return properties[i][1];
                }
            }
        }
        return -1;
    }

    function inEnum(list, v) {
        var k = kindOf(v), c = null;
        for (var i = 0; i < list.length; i++) {
            if (k !== T_OBJECT && k !== T_ARRAY) {
                if (list[i] === v) {
                    return true;
                }
            } else if (kindOf(list[i]) === k) {
                if (c === null) {
                    c = canonical(v);
                }
                if (canonical(list[i]) === c) {
                    return true;
                }
            }
        }
        return false;
    }

    function duplicateIndex(v) {
        var seen = Object.create(null);
        for (var i = 0; i < v.length; i++) {
            var key = 'k' + canonical(v[i]);
            if (seen[key] !== undefined) {
                return [seen[key], i];
            }
            seen[key] = i;
        }
        return null;
    }

    // The checks of one node that need no subschema; also prepares the frame's iteration.
    function localChecks(f) {
        var node = f.n, v = f.v;
        if (node.reject !== undefined) {
            return fail(node.reject);
        }
        if (f.d > maxDepth) {
            return fail('is nested too deeply');
        }
        var kind = kindOf(v);
        f.k = kind;
        if (node.types !== undefined && (node.types & kind) === 0 &&
            !(kind === T_NUMBER && (node.types & T_INTEGER) !== 0 && Number.isInteger(v))) {
            return fail('must be ' + typeNames(node.types));
        }
        if (node.enum !== undefined && !inEnum(node.enum, v)) {
            return fail(node.enum.length === 1 ? 'must be the allowed value' : 'must be one of the allowed values');
        }
        if (kind === T_NUMBER) {
            return checkNumber(node, v);
        }
        if (kind === T_STRING) {
            return checkString(node, v);
        }
        if (kind === T_ARRAY) {
            if (node.minItems !== undefined && v.length < node.minItems) {
                return fail('must have at least ' + node.minItems + ' items');
            }
            if (node.maxItems !== undefined && v.length > node.maxItems) {
                return fail('must have at most ' + node.maxItems + ' items');
            }
        }
        if (kind === T_OBJECT) {
            var keys = Object.keys(v);
            if (node.minProperties !== undefined && keys.length < node.minProperties) {
                return fail('must have at least ' + node.minProperties + ' properties');
            }
            if (node.maxProperties !== undefined && keys.length > node.maxProperties) {
                return fail('must have at most ' + node.maxProperties + ' properties');
            }
            if (node.required !== undefined) {
                for (var i = 0; i < node.required.length; i++) {
                    if (!Object.prototype.hasOwnProperty.call(v, node.required[i])) {
                        return failAt(node.required[i], 'is required');
                    }
                }
            }
            if (node.properties !== undefined || node.patternProperties !== undefined || node.additionalProperties !== undefined) {
                f.keys = keys.sort(compareNames);
            }
        }
        return null;
    }

    // Work-stack machine instead of recursion: njs's call stack is small, the value's depth is
    // bounded by maxDepth and same-value subschema chains by the schema (the compiler refuses
    // cycles that do not descend). A frame asks for a subschema check with call() and is
    // resumed with its result; done() ends it. Phases: 0 local checks, 1 items / members,
    // 2 allOf, 3 anyOf, 4 oneOf, 5 not.
    var CALL = 1, DONE = 2;
    var callIndex, callValue, callSegment, callDepth, returned;

    function call(index, v, segment, depth) {
        callIndex = index;
        callValue = v;
        callSegment = segment;
        callDepth = depth;
        return CALL;
    }

    function done(result) {
        returned = result;
        return DONE;
    }

    function frame(index, v, segment, depth) {
        return { n: nodes[index], v: v, s: segment, d: depth, ph: 0, k: 0, i: 0, j: -1, m: false, c: 0, keys: undefined };
    }

    function childPhase(f) {
        var node = f.n, v = f.v, index, name, p, jj, mm;
        if (f.k === T_ARRAY) {
            while (f.i < v.length) {
                index = node.prefixItems !== undefined && f.i < node.prefixItems.length ? node.prefixItems[f.i] : node.items;
                if (index === undefined) {
                    break;
                }
                f.i++;
                return call(index, v[f.i - 1], f.i - 1, f.d + 1);
            }
            if (node.uniqueItems === true && v.length > 1) {
                var pair = duplicateIndex(v);
                if (pair !== null) {
                    return done(failAt(pair[1], 'must not repeat item ' + pair[0]));
                }
            }
        } else if (f.keys !== undefined) {
            p = node.patternProperties !== undefined ? node.patternProperties.length : 0;
            while (f.i < f.keys.length) {
                name = f.keys[f.i];
                if (f.j === -1) {
                    f.j = 0;
                    f.m = false;
                    index = findProperty(node.properties, name);
                    if (index >= 0) {
                        f.m = true;
                        return call(index, v[name], name, f.d + 1);
                    }
                }
                if (f.j < p) {
                    jj = f.j++;
                    mm = matches(node.patternProperties[jj][0], name);
                    if (mm === false) {
                        return done(failAt(name, 'name could not be checked against a pattern'));
                    }
                    if (mm === true) {
                        f.m = true;
                        return call(node.patternProperties[jj][1], v[name], name, f.d + 1);
                    }
                    continue;
                }
                if (f.j === p) {
                    f.j = p + 1;
                    if (!f.m && node.additionalProperties !== undefined) {
                        return call(node.additionalProperties, v[name], name, f.d + 1);
                    }
                    continue;
                }
                f.i++;
                f.j = -1;
            }
        }
        return 0;
    }

    // Runs frame f until it calls a subschema or is done; resumed (resumed=true) with a
    // subschema's result.
    function advance(f, resumed, result) {
        var node = f.n, list, step;
        if (resumed) {
            if ((f.ph === 1 || f.ph === 2) && result !== null) {
                return done(result);
            }
            if (f.ph === 3) {
                if (result === null) {
                    f.ph = 4;
                    f.i = 0;
                }
            } else if (f.ph === 4) {
                if (result === null && ++f.c > 1) {
                    return done(fail('must match exactly one schema in oneOf (matches more than one)'));
                }
            } else if (f.ph === 5) {
                return done(result === null ? fail('must not match the schema in not') : null);
            }
        } else {
            var local = localChecks(f);
            if (local !== null) {
                return done(local);
            }
            f.ph = 1;
        }
        if (f.ph === 1) {
            step = childPhase(f);
            if (step !== 0) {
                return step;
            }
            f.ph = 2;
            f.i = 0;
        }
        if (f.ph === 2) {
            list = node.allOf;
            if (list !== undefined && f.i < list.length) {
                return call(list[f.i++], f.v, undefined, f.d);
            }
            f.ph = 3;
            f.i = 0;
        }
        if (f.ph === 3) {
            list = node.anyOf;
            if (list !== undefined) {
                if (f.i < list.length) {
                    return call(list[f.i++], f.v, undefined, f.d);
                }
                return done(fail('must match at least one schema in anyOf'));
            }
            f.ph = 4;
            f.i = 0;
        }
        if (f.ph === 4) {
            list = node.oneOf;
            if (list !== undefined) {
                if (f.i < list.length) {
                    return call(list[f.i++], f.v, undefined, f.d);
                }
                if (f.c === 0) {
                    return done(fail('must match exactly one schema in oneOf (matches none)'));
                }
            }
            f.ph = 5;
        }
        if (node.not !== undefined) {
            return call(node.not, f.v, undefined, f.d);
        }
        return done(null);
    }

    function run() {
        var stack = [frame(compiled.root, value, undefined, 0)];
        var resumed = false, result = null, f;
        for (;;) {
            f = stack[stack.length - 1];
            if (advance(f, resumed, result) === CALL) {
                if (callSegment !== undefined) {
                    path.push(callSegment);
                }
                stack.push(frame(callIndex, callValue, callSegment, callDepth));
                resumed = false;
            } else {
                stack.pop();
                if (f.s !== undefined) {
                    path.pop();
                }
                if (stack.length === 0) {
                    return returned;
                }
                resumed = true;
                result = returned;
            }
        }
    }

    try {
        return run();
    } catch (e) {
        if (e instanceof RangeError) {
            // Only canonical() (uniqueItems, object enums) recurses, over the value's depth.
            return { pointer: '', reason: 'is nested too deeply to validate' };
        }
        throw e;
    }
}
