package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// response is a function's answer, validated.
type response struct {
	status  int
	headers map[string]string
	cookies []string
	body    []byte
}

// lambdaResponse is the payload format 2.0 response. Fields are decoded
// strictly by type: a statusCode that is not a number is a malformed
// response, as it is for API Gateway.
type lambdaResponse struct {
	StatusCode      json.RawMessage   `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Cookies         []string          `json:"cookies"`
	Body            *string           `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

// decodeResponse interprets a function's JSON output as API Gateway does
// for payload format 2.0: an object with statusCode is a structured
// response; any other valid JSON is the body (a JSON string's text, other
// values as written), with status 200 and content-type application/json;
// anything else is malformed.
func decodeResponse(out []byte) (*response, error) {
	out = bytes.TrimSpace(out)
	var lr lambdaResponse
	// One pass in the common case: a structured response.
	err := json.Unmarshal(out, &lr)
	if err != nil || lr.StatusCode == nil {
		if !json.Valid(out) {
			return nil, errors.New("not valid JSON")
		}
		var probe struct {
			StatusCode json.RawMessage `json:"statusCode"`
		}
		if out[0] == '{' && json.Unmarshal(out, &probe) == nil && probe.StatusCode != nil {
			return nil, fmt.Errorf("fields of the wrong type: %v", err)
		}
		body := out
		var str string
		if out[0] == '"' && json.Unmarshal(out, &str) == nil {
			// AWS's own example: a function returning "Hello from Lambda!"
			// answers with that text, unquoted.
			body = []byte(str)
		}
		return &response{
			status:  http.StatusOK,
			headers: map[string]string{"Content-Type": "application/json"},
			body:    body,
		}, nil
	}
	status, err := strconv.Atoi(string(lr.StatusCode))
	if err != nil || status < 100 || status > 599 {
		return nil, fmt.Errorf("statusCode %s is not an HTTP status", lr.StatusCode)
	}
	resp := &response{status: status, headers: lr.Headers, cookies: lr.Cookies}
	if lr.Body != nil {
		resp.body = []byte(*lr.Body)
		if lr.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(*lr.Body)
			if err != nil {
				return nil, errors.New("body is marked base64 but is not valid base64")
			}
			resp.body = b
		}
	}
	for k, v := range resp.headers {
		if !validHeader(k, v) {
			return nil, fmt.Errorf("header %q is not a valid HTTP header", k)
		}
	}
	return resp, nil
}

func validHeader(name, value string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`"(),/:;<=>?@[\]{}`), c) >= 0 {
			return false
		}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// lambdaContext gives the function what the Lambda runtime gives it: the
// request id and the function's ARN.
func lambdaContext(ctx context.Context, reqID string, rt *route) context.Context {
	return lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       reqID,
		InvokedFunctionArn: "arn:aws:lambda:local:000000000000:function:" + rt.Function,
	})
}
