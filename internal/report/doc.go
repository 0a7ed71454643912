// Package report renders a discover.System for people (a terminal table), for scripts (JSON)
// and for monitoring (Prometheus text for node_exporter's textfile collector). It only
// formats; it reads nothing.
package report
