package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/raidswap/raidswap/internal/engine"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/view"
)

func init() { register(newPlanCmd) }

// RequestOptions are the flags that say what to replace.
type RequestOptions struct {
	Failed       string
	New          string
	Replace      bool
	ReAdd        bool
	Wipe         bool
	RebuildSpeed int64
	// AcceptNewDiskSMART takes a new disk whose SMART reports bad sectors.
	AcceptNewDiskSMART bool
}

func addRequestFlags(fl *pflag.FlagSet, r *RequestOptions) {
	fl.StringVar(&r.Failed, "failed", "", "the disk coming out: `SERIAL` or device (/dev/sdb)")
	fl.StringVar(&r.New, "new", "", "the replacement: `SERIAL` (or device, if attached); default: the disk that appears")
	fl.BoolVar(&r.Replace, "replace", false, "the disk still works: copy it with mdadm --replace --with, keeping redundancy")
	fl.BoolVar(&r.ReAdd, "re-add", false, "the failed disk came back: return it to its arrays (--re-add where there is a bitmap)")
	fl.BoolVar(&r.Wipe, "wipe", false, "allow erasing a new disk that holds a partition table or data")
	fl.BoolVar(&r.AcceptNewDiskSMART, "accept-new-disk-smart", false, "take a new disk although its SMART reports reallocated, pending or uncorrectable sectors (sealed into the plan)")
	fl.Int64Var(&r.RebuildSpeed, "rebuild-speed", 0, "raise md's minimum rebuild speed to `KiB/s` during the rebuild, and restore it after")
}

func (r *RequestOptions) request() (plan.Request, error) {
	req := plan.Request{Mode: plan.ReplaceFailed, Failed: r.Failed, New: r.New, Wipe: r.Wipe, RebuildSpeedKiB: r.RebuildSpeed, AcceptNewDiskSMART: r.AcceptNewDiskSMART}
	switch {
	case r.Replace && r.ReAdd:
		return req, errors.New("--replace and --re-add exclude each other")
	case r.Replace:
		req.Mode = plan.ReplaceWorking
	case r.ReAdd:
		req.Mode = plan.ReAdd
	}
	return req, nil
}

// PlanOptions are the inputs of `raidswap plan` (and `raidswap --plan`).
type PlanOptions struct {
	F       *Factory
	Request RequestOptions
	Format  string
	// FormatSet: --format was given. --out then writes the plan in that format; without it
	// --out writes the JSON plan that `raidswap apply` takes.
	FormatSet bool
	Out       string
}

func newPlanCmd(f *Factory) *cobra.Command {
	o := &PlanOptions{F: f}
	cmd := &cobra.Command{
		Use:   "plan --failed SERIAL|DEV [--new SERIAL] [--format text|markdown|json] [--out FILE]",
		Short: "Print the replacement plan, step by step, and change nothing (same as raidswap --plan)",
		Long: `plan reads the system and prints every step of the replacement with its exact command,
what is checked before it, how long it should take and how to back it out. It changes
nothing. --format markdown gives a change ticket; --out FILE saves the plan for
'raidswap apply FILE', which refuses it if the system has changed since. --out follows
--format: with --format markdown (or text) the file is that document, for people; the
plan apply takes is the JSON one (--out alone, or --format json --out FILE).`,
		Example: `  raidswap --plan --failed WD-WCC4N1KPB002
  raidswap plan --failed /dev/sdf --new WD-WX42D8 --format markdown > CHG-1234.md
  raidswap plan --failed WD-WCC4N1KPB002 --out /root/swap.plan
  raidswap plan --failed WD-WCC4N1KPB002 --format markdown --out CHG-1234.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.FormatSet = cmd.Flags().Changed("format")
			return runPlan(o)
		},
	}
	addPlanFlags(cmd.Flags(), o)
	return cmd
}

func addPlanFlags(fl *pflag.FlagSet, o *PlanOptions) {
	addRequestFlags(fl, &o.Request)
	fl.StringVar(&o.Format, "format", view.FormatText, "output `format`: text, markdown or json")
	fl.StringVar(&o.Out, "out", "", "also save the plan to `FILE` in --format's format (JSON, for raidswap apply, when --format is not given)")
}

// addRootPlan gives the root command `raidswap --plan ...`.
func addRootPlan(f *Factory, root *cobra.Command) {
	o := &PlanOptions{F: f}
	var want bool
	root.Flags().BoolVar(&want, "plan", false, "print the replacement plan and change nothing (see raidswap plan --help)")
	addPlanFlags(root.Flags(), o)
	root.Args = cobra.NoArgs
	w := &WizardOptions{F: f}
	root.Flags().BoolVar(&w.Plain, "plain", false, "the wizard asks line by line, with numbered choices and no escape codes (serial consoles)")
	root.Flags().BoolVar(&w.Cold, "cold", false, "the chassis has no hot-swap bays: the wizard takes the failed disk out of its arrays, then stops and says to power off, swap it and boot; sudo raidswap continues after the boot")
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		// On a terminal, raidswap (and raidswap --plan without --failed) is the wizard.
		if !want || (f.IO.Interactive && o.Request.Failed == "" && o.Out == "" && o.Format == view.FormatText) {
			w.Request, w.PlanOnly = o.Request, want
			return runWizard(cmd.Context(), w)
		}
		o.FormatSet = cmd.Flags().Changed("format")
		return runPlan(o)
	}
}

// buildPlan builds the plan for a request through the engine, on the --root capture or the
// live system. A plan that will be applied or saved needs the host's plan key (needKey).
func buildPlan(f *Factory, r RequestOptions, needKey bool) (*plan.Plan, error) {
	req, err := r.request()
	if err != nil {
		return nil, WithCode(ExitUsage, err)
	}
	root, cleanup, err := f.DiscoveryRoot()
	if err != nil {
		return nil, WithCode(ExitFailed, err)
	}
	defer cleanup()
	return planWith(f.Env(root), req, needKey)
}

// planWith builds the plan through env (whose Root the caller keeps alive).
func planWith(env *engine.Env, req plan.Request, needKey bool) (*plan.Plan, error) {
	p, err := env.Plan(req, needKey)
	if err != nil {
		return nil, engineError(err)
	}
	return p, nil
}

func runPlan(o *PlanOptions) error {
	switch o.Format {
	case view.FormatText, view.FormatMarkdown, view.FormatJSON:
	default:
		return WithCode(ExitUsage, fmt.Errorf("unknown --format %q: use text, markdown or json", o.Format))
	}
	saveAs := outFormat(o)
	p, err := buildPlan(o.F, o.Request, saveAs == view.FormatJSON)
	if err != nil {
		return err
	}
	if o.Out != "" {
		var b bytes.Buffer
		if err := view.Plan(&b, p, saveAs); err != nil {
			return WithCode(ExitFailed, err)
		}
		if err := os.WriteFile(o.Out, b.Bytes(), 0o600); err != nil {
			return WithCode(ExitFailed, fmt.Errorf("saving the plan: %w", err))
		}
	}
	if err := view.Plan(o.F.IO.Out, p, o.Format); err != nil {
		return WithCode(ExitFailed, err)
	}
	switch {
	case o.Out == "":
	case saveAs == view.FormatJSON:
		fmt.Fprintf(o.F.IO.ErrOut, "plan %s saved to %s; apply it with: raidswap apply %s\n", p.ID(), o.Out, o.Out)
	default:
		fmt.Fprintf(o.F.IO.ErrOut, "plan %s saved to %s as %s, for people; raidswap apply takes the JSON plan: add --format json (or leave --format out) to save that\n", p.ID(), o.Out, saveAs)
	}
	return nil
}

// outFormat is the format --out writes: --format's when it was given, else the JSON plan
// that raidswap apply takes.
func outFormat(o *PlanOptions) string {
	if o.Out == "" {
		return ""
	}
	if o.FormatSet {
		return o.Format
	}
	return view.FormatJSON
}
