package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/raidswap/raidswap/internal/event"
)

func init() { register(newEventCmd) }

// EventOptions are the inputs of `raidswap event`.
type EventOptions struct {
	F        *Factory
	Args     []string
	Install  bool
	Program  string
	Textfile string
	AuditLog string
	Syslog   string
	Timeout  time.Duration
	// Target is the binary --install links the program to (this executable when empty).
	Target string
	Now    func() time.Time
}

func newEventCmd(f *Factory) *cobra.Command {
	o := &EventOptions{F: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "event EVENT MD [MEMBER] | --install",
		Short: "mdadm's event hook: report a failed disk within seconds (mdadm.conf PROGRAM)",
		Long: `mdadm's monitor (mdmonitor.service: mdadm --monitor --scan) runs mdadm.conf's PROGRAM
for every event it notices, with the event, the array and sometimes the member. raidswap,
run as that PROGRAM (through a link named raidswap-event; --install makes it), does:

  every event                     write the Prometheus textfile at once, save the inventory
                                  when it changed, and log one line
  Fail, FailSpare, DegradedArray  also light the fault LED of the failed member's disk
  RebuildFinished, SpareActive    also clear the fault LED of the disks no longer failed

A fault LED is lit only for a member md itself reports faulty in that array at the moment
of the event (its /sys/block/MD/md/dev-MEMBER/state), or no longer has while the array misses
a member; for any other member the event names (an in-sync survivor named by a late or
replayed event) the log line says why no LED was lit.

The textfile holds the metrics of "status --format prometheus", written to a temporary file
in the same directory and renamed (mode 0644). The log line goes to the audit log
(/var/lib/raidswap/audit.jsonl, JSON; a symbolic link or other non-regular file there is
refused) and to syslog/journald (/dev/log). An event word mdadm does not send, a name that is
no md device, an array the kernel does not have (except for DeviceDisappeared), or a relative
--textfile is refused with exit 64 and nothing written. The whole event is bounded by
--timeout (mdadm waits for its PROGRAM) and ends early on SIGTERM, SIGINT or SIGHUP; however
it ends, it leaves one audit line and one syslog line and no temporary file.

--install adds "PROGRAM /usr/local/sbin/raidswap-event" to mdadm.conf (after a backup copy,
mdadm.conf.raidswap-bak.TIMESTAMP) and makes that link to this raidswap; the Debian
package's /usr/sbin/raidswap names the link the package ships, /usr/sbin/raidswap-event. Run again, it
changes nothing. It reads mdadm.conf (and mdadm.conf.d/*.conf) as mdadm does and refuses one
whose PROGRAM names another program (mdadm runs only the first: chain them with a script).
An mdadm.conf that is a symbolic link is written through to its target, the link kept.
--program must be an absolute path of letters, digits and . _ + - / (mdadm splits the line
at white space), and the raidswap it links to must be an executable file. Restart mdmonitor
afterwards so it reads the file.

With --root DIR every file is read and written below DIR (a test tree).`,
		Example: `  raidswap event --install && systemctl restart mdmonitor
  raidswap event Fail /dev/md0 /dev/sdb2          # what mdadm runs
  RAIDSWAP_TEXTFILE=/run/raidswap.prom raidswap event DegradedArray /dev/md1`,
		Args: cobra.MaximumNArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Args = args
			if !cmd.Flags().Changed("textfile") {
				if v := os.Getenv("RAIDSWAP_TEXTFILE"); v != "" {
					o.Textfile = v
				}
			}
			return runEvent(o)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.Install, "install", false, "make mdadm's monitor run raidswap: add the PROGRAM line to mdadm.conf")
	fl.StringVar(&o.Program, "program", "", "the PROGRAM `path` --install links to raidswap and names in mdadm.conf (default "+
		event.PackagedProgram+" for the packaged /usr/sbin/raidswap, else "+event.DefaultProgram+")")
	fl.StringVar(&o.Textfile, "textfile", event.DefaultTextfile, "the Prometheus textfile to write (env RAIDSWAP_TEXTFILE)")
	fl.StringVar(&o.AuditLog, "audit-log", event.DefaultAuditLog, "the JSON audit log to append to")
	fl.StringVar(&o.Syslog, "syslog", event.DefaultSyslog, "the syslog `socket` (\"-\": none)")
	fl.DurationVar(&o.Timeout, "timeout", event.DefaultTimeout, "give up after this long (mdadm waits for its PROGRAM)")
	fl.StringVar(&o.Target, "target", "", "the raidswap `binary` the --install link points to (default: this one)")
	_ = fl.MarkHidden("audit-log")
	_ = fl.MarkHidden("syslog")
	return cmd
}

// eventRoot is the directory every path of the hook is placed below.
func eventRoot(f *Factory) (string, error) {
	if f.Live() {
		return "/", nil
	}
	fi, err := os.Stat(f.RootDir)
	if err != nil {
		return "", WithCode(ExitUsage, fmt.Errorf("--root %s: %w", f.RootDir, err))
	}
	if !fi.IsDir() {
		return "", WithCode(ExitUsage, fmt.Errorf("--root %s: the event hook writes into the root it reads; a capture file is only read", f.RootDir))
	}
	return f.RootDir, nil
}

func runEvent(o *EventOptions) error {
	dir, err := eventRoot(o.F)
	if err != nil {
		return err
	}
	if o.Install {
		if len(o.Args) > 0 {
			return WithCode(ExitUsage, errors.New("--install takes no EVENT MD arguments"))
		}
		return runEventInstall(o, dir)
	}
	ev, err := event.Parse(o.Args)
	if err != nil {
		return WithCode(ExitUsage, err)
	}
	// A signal (systemd stopping mdmonitor) ends the event as its deadline does: the hook
	// logs that it gave up and removes its temporary files before the process goes.
	sctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	ctx, cancel := context.WithTimeout(sctx, o.Timeout)
	defer cancel()
	root := o.F.Root()
	out, err := event.Handle(ctx, event.Config{Root: root, Textfile: o.Textfile, AuditLog: o.AuditLog,
		Syslog: o.Syslog, LED: faultLED(o.F, root), Now: o.Now}, ev)
	var inputErr *event.InputError
	var noArray *event.NoArrayError
	switch {
	case errors.As(err, &inputErr), errors.As(err, &noArray):
		return WithCode(ExitUsage, err)
	case err != nil:
		return WithCode(ExitFailed, fmt.Errorf("%s: %w", out.Line(), err))
	}
	fmt.Fprintln(o.F.IO.Out, out.Line())
	return nil
}

func runEventInstall(o *EventOptions, dir string) error {
	target := o.Target
	if target == "" {
		exe, err := os.Executable()
		if err != nil {
			return WithCode(ExitFailed, err)
		}
		if target, err = filepath.EvalSymlinks(exe); err != nil {
			return WithCode(ExitFailed, err)
		}
	}
	if o.Program == "" {
		o.Program = event.ProgramFor(target)
	}
	res, err := event.Install(event.InstallOptions{Root: dir, Program: o.Program, Target: target, Now: o.Now()})
	var conflict *event.ConflictError
	var input *event.InputError
	switch {
	case errors.As(err, &input):
		return WithCode(ExitUsage, err)
	case errors.As(err, &conflict):
		return WithCode(ExitRefused, err)
	case err != nil:
		return WithCode(ExitFailed, err)
	}
	if !res.Changed {
		fmt.Fprintf(o.F.IO.Out, "%s already runs %s as mdadm's PROGRAM; nothing changed (link %s: %s)\n", res.Conf, o.Program, o.Program, res.Link)
		return nil
	}
	conf := res.Conf
	if res.Written != "" {
		conf = fmt.Sprintf("%s, a link, so to its target %s (the link kept)", res.Conf, res.Written)
	}
	fmt.Fprintf(o.F.IO.Out, "added PROGRAM %s to %s (the copy from before: %s); link %s -> %s: %s\nrestart mdadm's monitor so it reads it: systemctl restart mdmonitor\n",
		o.Program, conf, res.Backup, o.Program, target, res.Link)
	return nil
}
