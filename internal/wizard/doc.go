// Package wizard is the conversation `raidswap` holds on a terminal: it shows what discovery
// found, asks only what it cannot know (which disk, when several could be meant; which new
// disk, when several appeared), has the operator type the last characters of a disk's serial
// before each irreversible phase, follows the pull and the insertion by polling, and reports
// what was done. It never issues a command: the plan comes from the engine (plan.Build) and
// runs through the executor (engine.Apply), the same path as `raidswap replace`, which makes
// every safety check. Prompts, discovery and the run are injected (Deps), so the whole flow
// is tested without a terminal.
package wizard
