package accounts

import (
	"bytes"
	"io"
	"net/http"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// BufferRequestBodies is a client option that hands net/http a copy of
// each request body that ignores Close. The SDK closes a request's body as
// soon as it has the response, while net/http's transport may still be
// reading it (to see that nothing follows Content-Length); that read then
// fails, the transport closes the connection, and the response body still
// being decoded is lost as "use of closed network connection"
// (aws/aws-sdk-go-v2#2737). Cognito's requests are a few hundred bytes, so
// the copy costs nothing worth counting. NewDefault applies it; give it to
// cognitoidentityprovider.New when building a client by hand.
func BufferRequestBodies(o *cip.Options) {
	o.HTTPClient = wholeBodies{o.HTTPClient}
}

type wholeBodies struct{ next cip.HTTPClient }

func (c wholeBodies) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return c.next.Do(req)
}
