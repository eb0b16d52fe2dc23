package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// DynamoDB's number limits.
const (
	maxSignificantDigits = 38
	minExponent          = -130 // smallest magnitude: 1E-130
	maxExponent          = 125  // magnitudes stay below 1E+126
)

// CanonicalNumber checks that s, a JSON number, fits DynamoDB's number type
// (38 significant digits, magnitude 1E-130 to below 1E+126, or zero) and
// returns it the way DynamoDB gives numbers back: plain decimal notation,
// no exponent, no leading zeros, no trailing fractional zeros, no "-0".
// It works on the digits alone, so nothing passes through float64.
func CanonicalNumber(s string) (string, error) {
	neg, digits, exp, ok := splitNumber(s)
	if !ok {
		return "", invalid("%q is not a number", truncate(s))
	}
	// digits × 10^exp, with digits free of leading and trailing zeros.
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return "0", nil
	}
	trimmed := strings.TrimRight(digits, "0")
	exp += int64(len(digits) - len(trimmed))
	digits = trimmed
	if len(digits) > maxSignificantDigits {
		return "", invalid("number %s has %d significant digits; DynamoDB keeps at most %d", truncate(s), len(digits), maxSignificantDigits)
	}
	// The exponent of the leading digit in scientific notation.
	lead := exp + int64(len(digits)) - 1
	if lead < minExponent || lead > maxExponent {
		return "", invalid("number %s is out of DynamoDB's range (magnitude 1E-130 to below 1E+126)", truncate(s))
	}

	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case exp >= 0:
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", int(exp)))
	case -exp < int64(len(digits)):
		point := len(digits) + int(exp)
		b.WriteString(digits[:point])
		b.WriteByte('.')
		b.WriteString(digits[point:])
	default:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", int(-exp)-len(digits)))
		b.WriteString(digits)
	}
	return b.String(), nil
}

// splitNumber takes a JSON number apart into its sign, all its digits (the
// integer and fraction parts run together) and the power of ten that
// scales them. ok is false when s is not JSON number syntax or its
// exponent does not fit in an int64.
func splitNumber(s string) (neg bool, digits string, exp int64, ok bool) {
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	mant, expPart, hasExp := strings.Cut(strings.ToLower(s), "e")
	intPart, frac, hasPoint := strings.Cut(mant, ".")
	if !allDigits(intPart) || len(intPart) > 1 && intPart[0] == '0' {
		return false, "", 0, false
	}
	if hasPoint && !allDigits(frac) {
		return false, "", 0, false
	}
	if hasExp {
		unsigned := strings.TrimLeft(expPart, "+-")
		if len(expPart)-len(unsigned) > 1 || !allDigits(unsigned) {
			return false, "", 0, false
		}
		e, err := strconv.ParseInt(expPart, 10, 64)
		if err != nil {
			if strings.Trim(intPart+frac, "0") == "" {
				return neg, "0", 0, true // zero, whatever its exponent
			}
			return false, "", 0, false
		}
		exp = e
	}
	// Guard the subtraction below; such exponents are out of range anyway.
	if (exp < -1<<40 || exp > 1<<40) && strings.Trim(intPart+frac, "0") != "" {
		return false, "", 0, false
	}
	if strings.Trim(intPart+frac, "0") == "" {
		return neg, "0", 0, true
	}
	return neg, intPart + frac, exp - int64(len(frac)), true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ItemSize is the size DynamoDB charges for item against its 400 KB limit:
// each attribute's name plus its value: strings their UTF-8 bytes, numbers
// as numberSize says, booleans and nulls 1 byte, and lists and maps 3 bytes
// plus 1 byte and the size of each element (map keys count like attribute
// names).
func ItemSize(item Item) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case json.Number:
		return numberSize(string(v))
	case bool, nil:
		return 1
	case []any:
		n := 3
		for _, e := range v {
			n += 1 + valueSize(e)
		}
		return n
	case map[string]any:
		n := 3
		for k, e := range v {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	panic(fmt.Sprintf("api: item value of unexpected type %T", v)) // Items hold JSON values only
}

// numberSize is the size DynamoDB gives a number. DynamoDB's documentation
// only says "about 1 byte per two significant digits, plus 1"; the exact
// rule, which DynamoDB's limit checks use, packs the digits in base-100
// pairs aligned on the decimal point, so a number whose digits straddle a
// pair boundary takes one more byte, and a negative number one more still.
func numberSize(s string) int {
	neg, digits, exp, ok := splitNumber(s)
	if !ok {
		return len(s) // not reached for a validated Item; never undercount
	}
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return 1
	}
	trimmed := strings.TrimRight(digits, "0")
	exp += int64(len(digits) - len(trimmed))
	n := len(trimmed)
	lead := exp + int64(n) - 1 // exponent of the leading digit
	size := 1 + (n+1)/2
	if n%2 == 0 && lead%2 == 0 {
		size++
	}
	if neg {
		size++
	}
	return size
}
