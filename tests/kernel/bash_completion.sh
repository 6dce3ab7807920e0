#!/usr/bin/env bash
# bash_completion.sh — cli/sgctl.bash-completion offers every command of
# `sgctl --help` and every option of `sgctl COMMAND --help` (usage line
# and option list), so a command or option added to sgctl without its
# completion fails here.  Also: `log -c` completes directories, and
# `meson install` installs the completion exactly once.
# Needs bash and a built sgctl; no root, no network.
set -u
BUILDDIR=${BUILDDIR:?BUILDDIR must be set}
SRCDIR=${SRCDIR:?SRCDIR must be set}
SGCTL=$BUILDDIR/cli/sgctl
COMP=$SRCDIR/cli/sgctl.bash-completion
[ -x "$SGCTL" ] || { echo "FAIL: build sgctl first"; exit 1; }
FAILS=0
PASSES=0
ok() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
bad() { FAILS=$((FAILS + 1)); echo "not ok - $*"; }
TMP=$(mktemp -d /tmp/sgC9-comp.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# complete WORD...: what the completion offers for the command line
# "sgctl WORD..." with the cursor on the last word (may be "").
complete_line() {
	bash --norc --noprofile -c '
		source "$1"; shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		_sgctl
		printf "%s\n" "${COMPREPLY[@]}"' _ "$COMP" "$SGCTL" "$@"
}
offers() { # WORD... :: EXPECTED
	local words=()
	while [ "$1" != "::" ]; do words+=("$1"); shift; done
	shift
	complete_line "${words[@]}" | grep -qxF -- "$1"
}

commands=$("$SGCTL" --help | sed -n '/^commands:/,/^$/p' | awk 'NF && !/^commands:/ { print $1 }')
[ -n "$commands" ] || bad "sgctl --help lists commands"
for c in $commands; do
	if offers "" :: "$c"; then ok "command '$c' is completed"; else bad "command '$c' is completed"; fi
done
for o in $("$SGCTL" --help | sed -n '/^options:/,/^$/p' | grep -oE '(^|[ ,])--?[a-zA-Z][-a-zA-Z]*' | tr -d ' ,' | sort -u); do
	if offers "-" :: "$o" || offers "--" :: "$o"; then ok "global option '$o' is completed"; else bad "global option '$o' is completed"; fi
done

for c in $commands; do
	[ "$c" = help ] && continue
	h=$("$SGCTL" "$c" --help 2>&1)
	# Options in the usage line after the command, and in the option list
	# (lines starting with "  -").
	opts=$({
		sed -n '1s/^usage: sgctl \[-s SOCKET\] \[--json\] //p' <<<"$h" |
			grep -oE '(^|[ [|])--?[a-zA-Z][-a-zA-Z]*' | tr -d ' [|'
		grep -E '^ +-' <<<"$h" | sed -E 's/   .*//' | grep -oE '(^|[ ,])--?[a-zA-Z][-a-zA-Z]*' | tr -d ' ,'
	} | sort -u)
	opts="$opts --json --help"
	# Options may be offered only after the subcommand words (members
	# list GROUP, import aws FILE): try right after the command, then
	# after what the usage line puts first.
	first=$(sed -n '1s/^usage: sgctl \[-s SOCKET\] \[--json\] [a-z]* \([a-z]*\).*/\1/p' <<<"$h")
	for o in $opts; do
		if offers "$c" "-" :: "$o" || offers "$c" "--" :: "$o" ||
			{ [ -n "$first" ] && { offers "$c" "$first" "-" :: "$o" || offers "$c" "$first" "--" :: "$o"; }; }; then
			ok "'$c $o' is completed"
		else
			bad "'$c $o' is completed"
		fi
	done
done

mkdir -p "$TMP/confdir"
if (cd "$TMP" && complete_line log -c conf | grep -qx confdir); then
	ok "'log -c' completes directories"
else
	bad "'log -c' completes directories"
fi
if offers members "" :: add; then ok "'members' offers add"; else bad "'members' offers add"; fi
if offers import "" :: aws; then ok "'import' offers aws"; else bad "'import' offers aws"; fi

# meson install: the completion exactly once (it was also installed by
# cli/meson.build, under another directory).
if meson install -C "$BUILDDIR" --no-rebuild --dry-run --destdir "$TMP/dest" >"$TMP/install.txt" 2>&1; then
	n=$(grep -cE "sgctl\.bash-completion|bash-completion/completions/sgctl" "$TMP/install.txt")
	if [ "$n" = 1 ]; then ok "meson install installs the completion once"; else
		grep -E "bash-completion" "$TMP/install.txt"
		bad "meson install installs the completion once (got $n)"
	fi
else
	cat "$TMP/install.txt"
	bad "meson install --dry-run"
fi

echo "bash_completion: $PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
