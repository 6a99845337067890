package httpx

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

const keyHead = "pgtenant.head"

// routeHeadAsGet lets every GET route answer HEAD (Echo routes HEAD only
// where one is registered, so HEAD was a 405 everywhere). It runs before
// routing and makes the router look up the GET route; restoreHead, the
// first middleware after routing, puts the method back, so handlers,
// logs and the error handler see HEAD, and the body is dropped.
func routeHeadAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if r := c.Request(); r.Method == http.MethodHead {
			r.Method = http.MethodGet
			c.Set(keyHead, true)
		}
		return next(c)
	}
}

func restoreHead(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if head, _ := c.Get(keyHead).(bool); head {
			c.Request().Method = http.MethodHead
			c.Response().Writer = headWriter{c.Response().Writer}
		}
		return next(c)
	}
}

// headWriter drops the body of a HEAD answer; status and headers are the
// GET answer's.
type headWriter struct{ http.ResponseWriter }

func (w headWriter) Write(p []byte) (int, error) { return len(p), nil }

func (w headWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
