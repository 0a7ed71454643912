// Package report is what is left of the status renderers after they moved to package view:
// three forwarders, kept only until internal/discover's fixture tests call view directly.
// Add nothing here; call view.StatusHuman, view.StatusJSON and view.StatusPrometheus.
package report

import (
	"io"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/view"
)

// Human is view.StatusHuman.
func Human(w io.Writer, s *discover.System) error { return view.StatusHuman(w, s) }

// JSON is view.StatusJSON.
func JSON(w io.Writer, s *discover.System) error { return view.StatusJSON(w, s) }

// Prometheus is view.StatusPrometheus.
func Prometheus(w io.Writer, s *discover.System) error { return view.StatusPrometheus(w, s) }
