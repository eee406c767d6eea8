# Sourced by hack/build-tools.sh and hack/build-kyverno.sh: the cache folder
# keyed by pins, the command-line modes, the folder's lock and the build
# helpers both use. The caller sets `root` (the repository) and `name` (its
# log prefix) before sourcing, and defines `complete` (exit 0 when the
# folder holds everything) before calling toolcache_prepare.

# toolcache_mode SCRIPT [ARG]: sets mode from the script's one argument;
# --help prints SCRIPT's header comment.
toolcache_mode() {
	local script=$1
	case "${2:-}" in
	"") mode=build ;;
	--print-dir) mode=print ;;
	--check) mode=check ;;
	--force) mode=force ;;
	--prune) mode=prune ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$script" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "unknown argument: $2 (try --help)" >&2
		exit 2
		;;
	esac
}

# toolcache_dir PREFIX INPUT...: sets dir to the cache folder whose key
# hashes the platform and the INPUT files (every file that pins a version
# or says how it is built), and cache_root to the folder holding it.
toolcache_dir() {
	local prefix=$1 key
	shift
	key=$(
		cd "$root"
		{
			uname -sm
			for f in "$@"; do
				printf '== %s\n' "${f#"$root"/}"
				cat "$f"
			done
		} | sha256sum | cut -c1-16
	)
	cache_root="${SCALEGUARD_TOOLS_DIR:-${HOME:?HOME or SCALEGUARD_TOOLS_DIR must be set}/.cache/scaleguard/tools}"
	dir="$cache_root/$prefix$key"
	key_prefix=$prefix
}

log() { echo "$name: $*" >&2; }

# toolcache_prepare: answers --print-dir, --check and --prune and exits;
# exits too when the folder is complete (unless --force). Otherwise it
# takes the folder's lock (one build at a time: parallel make, two
# terminals) and sets up the environment the builds share.
toolcache_prepare() {
	case $mode in
	print)
		echo "$dir"
		exit 0
		;;
	check)
		complete
		exit
		;;
	prune)
		local old
		for old in "$cache_root/$key_prefix"*/; do
			old=${old%/}
			[[ -d $old && $old != "$dir" && ${old##*/} =~ ^$key_prefix[0-9a-f]{16}$ ]] || continue
			log "removing $old"
			rm -rf -- "$old"
		done
		exit 0
		;;
	esac
	if [[ $mode == build ]] && complete; then
		log "up to date: $dir"
		echo "$dir"
		exit 0
	fi
	mkdir -p "$dir"
	if command -v flock >/dev/null; then
		exec 9>"$dir/.lock"
		flock 9
		if [[ $mode == build ]] && complete; then
			log "up to date (built by another run): $dir"
			echo "$dir"
			exit 0
		fi
	fi
	export GOWORK=off CGO_ENABLED=0
	export GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath"
	nice_cmd=()
	if [[ ${SCALEGUARD_TOOLS_NICE:-10} != 0 ]] && command -v nice >/dev/null; then
		nice_cmd=(nice -n "${SCALEGUARD_TOOLS_NICE:-10}")
	fi
}

# modver DIR MODULE: the version of MODULE that DIR's go.mod pins (require).
modver() {
	local v
	v=$(awk -v m="$2" '$1 == m { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1/go.mod")
	[[ -n $v ]] || {
		log "no version of $2 in $1/go.mod"
		exit 1
	}
	echo "$v"
}

# gobuild MODDIR OUT PKG [go build flags...]: builds PKG into $dir/OUT via a
# temporary file, so an interrupted build never leaves a half-written binary.
gobuild() {
	local moddir=$1 out=$2 pkg=$3 start
	shift 3
	start=$SECONDS
	log "building $out ($pkg)"
	(cd "$moddir" && "${nice_cmd[@]}" go build -o "$dir/.$out.tmp" "$@" "$pkg")
	mv -f "$dir/.$out.tmp" "$dir/$out"
	log "built $out in $((SECONDS - start))s"
}
