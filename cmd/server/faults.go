//go:build faultinject

package main

import (
	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/faults"
)

// The fault-injection build (go build -tags faultinject; `make soak`): a
// request carrying X-Pgtenant-Fault: panic panics in the handler chain,
// inside recovery, so the soak can check that an injected panic costs one
// clean 500 problem and nothing else. `make build` and the container image
// never compile this file.
func init() {
	faultHook = func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Header.Get(faults.HeaderFault) == "panic" {
				panic("injected fault (faultinject build)")
			}
			return next(c)
		}
	}
}
