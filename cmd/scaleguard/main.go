// Command scaleguard enforces autoscaling standards: `serve` runs the
// admission webhook, `check` runs the same rules over manifests offline.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// exitFailure is the exit code of a command that could not do its job.
const exitFailure = 1

const usage = `usage: scaleguard <command> [flags]

commands:
  serve    run the admission webhook server
  check    check manifests offline, as the webhook would
  explain  show an HPA as stored, its fastest paths step by step, a chart and its findings
  simulate replay a metric trace through an HPA, as the controller would scale it
  export   print the standard for the API server: webhook configurations with their matchConditions, or admission policies
  migrate-settings  print the ClusterScalingStandard equivalent to a settings file
  version  print the version
  help     show this help, or a command's flags: scaleguard help <command>
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// parseFlags parses a command's args into fs. done says the command ends
// here, with code: exitOK after -h, exitUsage after a bad flag (fs has
// printed why and the usage).
func parseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return exitOK, false
	case errors.Is(err, flag.ErrHelp):
		return exitOK, true
	default:
		return exitUsage, true
	}
}

// usageError returns what a command calls on an error of its input: the
// error on stderr after the command's name, and exitUsage.
func usageError(stderr io.Writer, command string) func(error) int {
	return func(err error) int {
		fmt.Fprintln(stderr, "scaleguard "+command+":", err)
		return exitUsage
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return runServe(rest, stderr)
	case "check":
		return runCheck(rest, stdin, stdout, stderr)
	case "explain":
		return runExplain(rest, stdin, stdout, stderr)
	case "simulate":
		return runSimulate(rest, stdin, stdout, stderr)
	case "export":
		return runExport(rest, stdout, stderr)
	case "migrate-settings":
		return runMigrateSettings(rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "scaleguard", version)
		return exitOK
	case "help", "-h", "-help", "--help":
		if len(rest) == 1 && (rest[0] == "serve" || rest[0] == "check" || rest[0] == "explain" || rest[0] == "simulate" || rest[0] == "export" || rest[0] == "migrate-settings") {
			return run([]string{rest[0], "-h"}, stdin, stdout, stderr)
		}
		fmt.Fprint(stderr, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "scaleguard: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}
