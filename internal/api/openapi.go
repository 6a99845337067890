package api

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// OpenAPI is the OpenAPI 3.1 description of this API, served at
// OpenAPIPath. The test kit validates every request and response of the API
// tests against it (internal/pgtest/kit), so it describes what the
// handlers do, not what they were meant to do.
//
//go:embed openapi.yaml
var OpenAPI []byte

// OpenAPIPath is where the server serves OpenAPI, to anyone: the
// description holds nothing a client could not learn by calling the API.
const OpenAPIPath = "/v1/openapi.yaml"

func serveOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", OpenAPI)
}
