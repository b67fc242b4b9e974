/* `releasemanager completion bash|zsh|fish` prints a completion script for the shell.
 * Its data (verbs, their operands, every option with its short name, whether it takes a
 * value and how that value completes) is generated from the same tables as --help; the
 * per-shell driver that reads it is fixed text.  Backends and their options are not in
 * the script: the driver asks the program at completion time (`completion __backends`,
 * `completion __options NAME`, hidden operands), so a plugin installed later completes. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "plugin.h"
#include "base/log.h"

static const char *const shells[] = { "bash", "zsh", "fish" };

/* The values an option accepts, where it has a fixed set (verb NULL: a global option).
 * tests/e2e/test_completion.sh checks each set against the program's own error message
 * for a bad value, so a change there fails the test until this table follows. */
static const struct {
  const char *verb, *option, *values;
} enums[] = {
  { NULL, "log-format", "text|json" },
  { "export", "helm-driver", "secret|configmap|auto" },
  { "import", "helm-driver", "secret|configmap" },
  { "list", "output", "table|json" },
  { "verify", "output", "text|json" },
  { "backends", "output", "text|json" },
  { "diff", "output", "text|json" },
  { "diff", "helm-driver", "secret|configmap|auto" },
};

/* Operands of the verbs that do not take just a backend (CMD_NEEDS_BACKEND): one slot
 * per operand, separated by spaces; a slot is "backend", "command", or the words it
 * accepts separated by '|'. */
static const struct {
  const char *verb, *slots;
} operands[] = {
  { "backends", "check|list backend" },
  { "completion", "bash|zsh|fish" },
};

static const char *
verb_slots (const struct command *cmd)
{
  for (size_t i = 0; i < ARRAY_SIZE (operands); i++)
    if (strcmp (operands[i].verb, cmd->name) == 0)
      return operands[i].slots;
  return (cmd->needs & CMD_NEEDS_BACKEND) ? "backend" : "-";
}

/* How the value of option o of verb (NULL: global) completes: "enum=a|b", "file", "dir",
 * "backend" or "-" (nothing to offer). */
static char *
value_completion (const char *verb, const struct cli_option *o)
{
  for (size_t i = 0; i < ARRAY_SIZE (enums); i++)
    if (str_same (enums[i].verb, verb) && strcmp (enums[i].option, o->name) == 0)
      return xasprintf ("enum=%s", enums[i].values);
  if (o->arg == CLI_FLAG)
    return xstrdup ("-");
  if (!verb && strcmp (o->name, "backend") == 0)
    return xstrdup ("backend");
  const char *m = o->metavar ? o->metavar : "";
  if (strcmp (m, "FILE") == 0 || strcmp (m, "PATH") == 0)
    return xstrdup ("file");
  if (strcmp (m, "DIR") == 0)
    return xstrdup ("dir");
  return xstrdup ("-");
}

/* Text for a field of a tab-separated line: no tab or newline, never empty. */
static void
add_field (struct strbuf *sb, const char *s)
{
  strbuf_puts (sb, "\t");
  if (!s || !*s) {
    strbuf_puts (sb, "-");
    return;
  }
  for (; *s; s++)
    strbuf_add (sb, *s == '\t' || *s == '\n' ? " " : s, 1);
}

static void
add_options (struct strbuf *sb, const char *verb, const struct cli_option *t)
{
  for (; t && t->name; t++) {
    if (t->flags & CLI_HIDDEN)
      continue;
    char shortname[2] = { t->short_name, 0 };
    char *compl = value_completion (verb, t);
    strbuf_puts (sb, "opt");
    add_field (sb, verb ? verb : "*");
    add_field (sb, t->name);
    add_field (sb, shortname);
    add_field (sb, t->arg == CLI_FLAG ? "flag" : "value");
    add_field (sb, compl);
    add_field (sb, t->help);
    strbuf_puts (sb, "\n");
    free (compl);
  }
}

/* The data every driver reads, one tab-separated line each:
 *   verb NAME SLOTS SUMMARY
 *   opt  SCOPE LONG SHORT flag|value COMPLETION HELP     (SCOPE: a verb, or * for global)
 * An empty field is "-". */
static char *
completion_spec (const struct cmd_program *prog)
{
  struct strbuf sb = STRBUF_INIT;
  for (size_t i = 0; i < prog->ncommands; i++) {
    const struct command *cmd = prog->commands[i];
    strbuf_puts (&sb, "verb");
    add_field (&sb, cmd->name);
    add_field (&sb, verb_slots (cmd));
    add_field (&sb, cmd->summary);
    strbuf_puts (&sb, "\n");
  }
  strbuf_puts (&sb, "verb\thelp\tcommand\tshow help for a command\n");
  add_options (&sb, NULL, prog->global);
  for (size_t i = 0; i < prog->ncommands; i++)
    add_options (&sb, prog->commands[i]->name, prog->commands[i]->options);
  return strbuf_detach (&sb);
}

/* s in single quotes for bash and zsh ('\'' for a quote) or for fish (\' and \\). */
static void
put_quoted (FILE *f, const char *s, bool fish)
{
  fputc ('\'', f);
  for (; *s; s++) {
    if (*s == '\'')
      fputs (fish ? "\\'" : "'\\''", f);
    else if (*s == '\\' && fish)
      fputs ("\\\\", f);
    else
      fputc (*s, f);
  }
  fputc ('\'', f);
}

/* ---- bash ------------------------------------------------------------------------ */
static const char bash_head[] =
  "# bash completion for releasemanager                       -*- shell-script -*-\n"
  "# Generated by `releasemanager completion bash` from the program's option tables.\n"
  "# This shell only:   source <(releasemanager completion bash)\n"
  "# Every new shell:   releasemanager completion bash > "
  "~/.local/share/bash-completion/completions/releasemanager\n"
  "#   (or, for every user, into /usr/share/bash-completion/completions/ or\n"
  "#   /etc/bash_completion.d/)\n"
  "# Needs bash 4.2 or later; bash-completion is not needed.\n";

static const char bash_driver[] =
  "# _releasemanager_opt VERB LONG SHORT: the option LONG (or short letter SHORT) of VERB,\n"
  "# else the global one, into _rm_long, _rm_arg (flag|value) and _rm_compl; 1 if none.\n"
  "_releasemanager_opt () {\n"
  "  local kind scope long short arg compl help want\n"
  "  for want in \"$1\" '*'; do\n"
  "    while IFS=$'\\t' read -r kind scope long short arg compl help; do\n"
  "      [[ $kind == opt && $scope == \"$want\" ]] || continue\n"
  "      if [[ ( -n $2 && $long == \"$2\" ) || ( -n $3 && $short == \"$3\" ) ]]; then\n"
  "        _rm_long=$long _rm_arg=$arg _rm_compl=$compl\n"
  "        return 0\n"
  "      fi\n"
  "    done <<< \"$_releasemanager_spec\"\n"
  "  done\n"
  "  return 1\n"
  "}\n"
  "\n"
  "# _releasemanager_key NAME: the kind (flag, file or value) of the backend's option NAME\n"
  "# into _rm_compl; 1 if the backend has none.  _rm_keys: `completion __options BACKEND`.\n"
  "_releasemanager_key () {\n"
  "  local key kind help\n"
  "  while IFS=$'\\t' read -r key kind help; do\n"
  "    if [[ -n $key && $key == \"$1\" ]]; then\n"
  "      _rm_compl=$kind\n"
  "      return 0\n"
  "    fi\n"
  "  done <<< \"$_rm_keys\"\n"
  "  return 1\n"
  "}\n"
  "\n"
  "# _releasemanager_values HOW CUR: COMPREPLY for a value that completes as HOW.\n"
  "_releasemanager_values () {\n"
  "  local how=$1 cur=$2 line\n"
  "  case $how in\n"
  "    file|path) compopt -o filenames 2>/dev/null\n"
  "               mapfile -t COMPREPLY < <(compgen -f -- \"$cur\") ;;\n"
  "    dir) compopt -o filenames 2>/dev/null\n"
  "         mapfile -t COMPREPLY < <(compgen -d -- \"$cur\") ;;\n"
  "    backend) mapfile -t COMPREPLY < <(compgen -W \"$(\"$_rm_cmd\" \"${_rm_extra[@]}\" "
  "completion __backends 2>/dev/null)\" -- \"$cur\") ;;\n"
  "    command) local verbs=\n"
  "             while IFS=$'\\t' read -r line; do\n"
  "               [[ $line == verb$'\\t'* ]] || continue\n"
  "               line=${line#verb$'\\t'}; verbs+=\" ${line%%$'\\t'*}\"\n"
  "             done <<< \"$_releasemanager_spec\"\n"
  "             mapfile -t COMPREPLY < <(compgen -W \"$verbs\" -- \"$cur\") ;;\n"
  "    enum=*) how=${how#enum=}\n"
  "            mapfile -t COMPREPLY < <(compgen -W \"${how//|/ }\" -- \"$cur\") ;;\n"
  "    *'|'*) mapfile -t COMPREPLY < <(compgen -W \"${how//|/ }\" -- \"$cur\") ;;\n"
  "    *) COMPREPLY=() ;;\n"
  "  esac\n"
  "}\n"
  "\n"
  "_releasemanager () {\n"
  "  local -a words=() _rm_extra=()\n"
  "  local i w cur name verb= backend= nops=0 pending= pending_compl= dashdash=\n"
  "  local _rm_long _rm_arg _rm_compl _rm_keys= _rm_cmd\n"
  "  COMPREPLY=()\n"
  "  # bash splits --name=value at '='; put the pieces back together.\n"
  "  for ((i = 0; i <= COMP_CWORD; i++)); do\n"
  "    w=${COMP_WORDS[i]}\n"
  "    if [[ $w == '=' && ${#words[@]} -gt 1 && ${words[-1]} == --* && ${words[-1]} != *=* ]]; "
  "then\n"
  "      words[-1]+='='\n"
  "      if ((i < COMP_CWORD)); then i=$((i + 1)); words[-1]+=${COMP_WORDS[i]}; fi\n"
  "      continue\n"
  "    fi\n"
  "    words+=(\"$w\")\n"
  "  done\n"
  "  _rm_cmd=${words[0]}\n"
  "  cur=${words[-1]}\n"
  "  for ((i = 1; i < ${#words[@]} - 1; i++)); do\n"
  "    w=${words[i]}\n"
  "    if [[ -n $pending ]]; then\n"
  "      case $pending in\n"
  "        config|plugin-dir) _rm_extra+=(\"--$pending\" \"$w\") ;;\n"
  "        backend) backend=$w ;;\n"
  "      esac\n"
  "      pending=\n"
  "      continue\n"
  "    fi\n"
  "    if [[ -z $dashdash ]]; then\n"
  "      case $w in\n"
  "        --) dashdash=1; continue ;;\n"
  "        --*=*) name=${w%%=*}; name=${name#--}\n"
  "               case $name in\n"
  "                 config|plugin-dir) _rm_extra+=(\"$w\") ;;\n"
  "                 backend) backend=${w#*=} ;;\n"
  "               esac\n"
  "               continue ;;\n"
  "        --*) name=${w#--}\n"
  "             if _releasemanager_opt \"$verb\" \"$name\" ''; then\n"
  "               [[ $_rm_arg == value ]] && pending=$name\n"
  "             elif [[ -n $backend ]]; then\n"
  "               [[ -n $_rm_keys ]] || _rm_keys=$(\"$_rm_cmd\" \"${_rm_extra[@]}\" completion "
  "__options \"$backend\" 2>/dev/null)\n"
  "               if _releasemanager_key \"$name\" && [[ $_rm_compl != flag ]]; then\n"
  "                 pending=$name\n"
  "               fi\n"
  "             fi\n"
  "             continue ;;\n"
  "        -?) if _releasemanager_opt \"$verb\" '' \"${w#-}\" && [[ $_rm_arg == value ]]; then\n"
  "              pending=$_rm_long\n"
  "            fi\n"
  "            continue ;;\n"
  "        -*) continue ;;\n"
  "      esac\n"
  "    fi\n"
  "    if [[ -z $verb ]]; then\n"
  "      verb=$w\n"
  "    else\n"
  "      _releasemanager_slot \"$verb\" \"$nops\"\n"
  "      [[ $_rm_compl == backend ]] && backend=$w\n"
  "      nops=$((nops + 1))\n"
  "    fi\n"
  "  done\n"
  "\n"
  "  # The value of an option.\n"
  "  if [[ -n $pending ]]; then\n"
  "    if _releasemanager_opt \"$verb\" \"$pending\" ''; then\n"
  "      _releasemanager_values \"$_rm_compl\" \"$cur\"\n"
  "    elif _releasemanager_key \"$pending\"; then\n"
  "      _releasemanager_values \"$_rm_compl\" \"$cur\"\n"
  "    fi\n"
  "    return 0\n"
  "  fi\n"
  "  if [[ -z $dashdash && $cur == --*=* ]]; then\n"
  "    name=${cur%%=*}; name=${name#--}\n"
  "    _rm_compl=-\n"
  "    if ! _releasemanager_opt \"$verb\" \"$name\" '' && [[ -n $backend ]]; then\n"
  "      _rm_keys=$(\"$_rm_cmd\" \"${_rm_extra[@]}\" completion __options \"$backend\" "
  "2>/dev/null)\n"
  "      _releasemanager_key \"$name\" || _rm_compl=-\n"
  "    fi\n"
  "    _releasemanager_values \"$_rm_compl\" \"${cur#*=}\"\n"
  "    # Without '=' in COMP_WORDBREAKS the whole --name=value is the word to replace.\n"
  "    if [[ $COMP_WORDBREAKS != *=* ]]; then\n"
  "      for i in \"${!COMPREPLY[@]}\"; do COMPREPLY[i]=\"${cur%%=*}=${COMPREPLY[i]}\"; done\n"
  "    fi\n"
  "    return 0\n"
  "  fi\n"
  "  # Options: global, the verb's, and the backend's.\n"
  "  if [[ -z $dashdash && $cur == -* ]]; then\n"
  "    local kind scope long short arg compl help list=\n"
  "    while IFS=$'\\t' read -r kind scope long short arg compl help; do\n"
  "      [[ $kind == opt && ( $scope == '*' || $scope == \"$verb\" ) ]] || continue\n"
  "      list+=\" --$long\"\n"
  "      [[ $short != - ]] && list+=\" -$short\"\n"
  "    done <<< \"$_releasemanager_spec\"\n"
  "    if [[ -n $backend ]]; then\n"
  "      [[ -n $_rm_keys ]] || _rm_keys=$(\"$_rm_cmd\" \"${_rm_extra[@]}\" completion __options "
  "\"$backend\" 2>/dev/null)\n"
  "      while IFS=$'\\t' read -r long kind help; do\n"
  "        [[ -n $long ]] && list+=\" --$long\"\n"
  "      done <<< \"$_rm_keys\"\n"
  "    fi\n"
  "    mapfile -t COMPREPLY < <(compgen -W \"$list\" -- \"$cur\")\n"
  "    return 0\n"
  "  fi\n"
  "  # An operand: the verb, or what the verb takes next.\n"
  "  if [[ -z $verb ]]; then\n"
  "    _releasemanager_values command \"$cur\"\n"
  "  else\n"
  "    _releasemanager_slot \"$verb\" \"$nops\"\n"
  "    _releasemanager_values \"$_rm_compl\" \"$cur\"\n"
  "  fi\n"
  "  return 0\n"
  "}\n"
  "\n"
  "# _releasemanager_slot VERB N: how operand N (from 0) of VERB completes, into _rm_compl.\n"
  "_releasemanager_slot () {\n"
  "  local kind name slots summary\n"
  "  local -a s\n"
  "  _rm_compl=-\n"
  "  while IFS=$'\\t' read -r kind name slots summary; do\n"
  "    [[ $kind == verb && $name == \"$1\" ]] || continue\n"
  "    read -r -a s <<< \"$slots\"\n"
  "    (($2 < ${#s[@]})) && [[ ${s[$2]} != - ]] && _rm_compl=${s[$2]}\n"
  "    return 0\n"
  "  done <<< \"$_releasemanager_spec\"\n"
  "}\n"
  "\n"
  "complete -o default -F _releasemanager releasemanager\n";

/* ---- zsh ------------------------------------------------------------------------- */
static const char zsh_head[] =
  "#compdef releasemanager\n"
  "# zsh completion for releasemanager\n"
  "# Generated by `releasemanager completion zsh` from the program's option tables.\n"
  "# This shell only (after compinit):   source <(releasemanager completion zsh)\n"
  "# Every new shell: releasemanager completion zsh > \"${fpath[1]}/_releasemanager\"\n"
  "#   (any directory of $fpath; compinit must run in ~/.zshrc: autoload -U compinit; "
  "compinit)\n";

static const char zsh_driver[] =
  "# __releasemanager_compute: from $words and $CURRENT, what to offer: _rm_how (options,\n"
  "# a value completion, or nothing) and _rm_cur (the text to complete).\n"
  "__releasemanager_opt () {\n"
  "  local line want\n"
  "  local -a f\n"
  "  for want in \"$1\" '*'; do\n"
  "    for line in \"${(@f)_releasemanager_spec}\"; do\n"
  "      f=(\"${(@ps:\\t:)line}\")\n"
  "      [[ $f[1] == opt && $f[2] == \"$want\" ]] || continue\n"
  "      if [[ ( -n $2 && $f[3] == \"$2\" ) || ( -n $3 && $f[4] == \"$3\" ) ]]; then\n"
  "        _rm_long=$f[3] _rm_arg=$f[5] _rm_compl=$f[6]\n"
  "        return 0\n"
  "      fi\n"
  "    done\n"
  "  done\n"
  "  return 1\n"
  "}\n"
  "\n"
  "__releasemanager_key () {\n"
  "  local line\n"
  "  local -a f\n"
  "  for line in \"${(@f)_rm_keys}\"; do\n"
  "    f=(\"${(@ps:\\t:)line}\")\n"
  "    if [[ -n $f[1] && $f[1] == \"$1\" ]]; then _rm_compl=$f[2]; return 0; fi\n"
  "  done\n"
  "  return 1\n"
  "}\n"
  "\n"
  "__releasemanager_keys () {\n"
  "  [[ -n $_rm_keys ]] || _rm_keys=$(\"$_rm_cmd\" \"${_rm_extra[@]}\" completion __options "
  "\"$1\" 2>/dev/null)\n"
  "}\n"
  "\n"
  "__releasemanager_slot () {\n"
  "  local line\n"
  "  local -a f s\n"
  "  _rm_compl=-\n"
  "  for line in \"${(@f)_releasemanager_spec}\"; do\n"
  "    f=(\"${(@ps:\\t:)line}\")\n"
  "    [[ $f[1] == verb && $f[2] == \"$1\" ]] || continue\n"
  "    s=(${=f[3]})\n"
  "    (( $2 < $#s )) && [[ $s[$2+1] != - ]] && _rm_compl=$s[$2+1]\n"
  "    return 0\n"
  "  done\n"
  "}\n"
  "\n"
  "__releasemanager_compute () {\n"
  "  local i w name pending= dashdash= nops=0\n"
  "  _rm_verb= _rm_backend= _rm_keys= _rm_extra=() _rm_cmd=$words[1] _rm_cur=$words[CURRENT]\n"
  "  _rm_how=- _rm_prefix=\n"
  "  for ((i = 2; i < CURRENT; i++)); do\n"
  "    w=$words[i]\n"
  "    if [[ -n $pending ]]; then\n"
  "      case $pending in\n"
  "        config|plugin-dir) _rm_extra+=(\"--$pending\" \"$w\") ;;\n"
  "        backend) _rm_backend=$w ;;\n"
  "      esac\n"
  "      pending=\n"
  "      continue\n"
  "    fi\n"
  "    if [[ -z $dashdash ]]; then\n"
  "      case $w in\n"
  "        --) dashdash=1; continue ;;\n"
  "        --*=*) name=${${w%%=*}#--}\n"
  "               case $name in\n"
  "                 config|plugin-dir) _rm_extra+=(\"$w\") ;;\n"
  "                 backend) _rm_backend=${w#*=} ;;\n"
  "               esac\n"
  "               continue ;;\n"
  "        --*) name=${w#--}\n"
  "             if __releasemanager_opt \"$_rm_verb\" \"$name\" ''; then\n"
  "               [[ $_rm_arg == value ]] && pending=$name\n"
  "             elif [[ -n $_rm_backend ]]; then\n"
  "               __releasemanager_keys \"$_rm_backend\"\n"
  "               __releasemanager_key \"$name\" && [[ $_rm_compl != flag ]] && pending=$name\n"
  "             fi\n"
  "             continue ;;\n"
  "        -?) __releasemanager_opt \"$_rm_verb\" '' \"${w#-}\" && [[ $_rm_arg == value ]] "
  "&& pending=$_rm_long\n"
  "            continue ;;\n"
  "        -*) continue ;;\n"
  "      esac\n"
  "    fi\n"
  "    if [[ -z $_rm_verb ]]; then\n"
  "      _rm_verb=$w\n"
  "    else\n"
  "      __releasemanager_slot \"$_rm_verb\" $nops\n"
  "      [[ $_rm_compl == backend ]] && _rm_backend=$w\n"
  "      nops=$((nops + 1))\n"
  "    fi\n"
  "  done\n"
  "  if [[ -n $pending ]]; then\n"
  "    _rm_how=-\n"
  "    if __releasemanager_opt \"$_rm_verb\" \"$pending\" ''; then _rm_how=$_rm_compl\n"
  "    elif __releasemanager_key \"$pending\"; then _rm_how=$_rm_compl; fi\n"
  "  elif [[ -z $dashdash && $_rm_cur == --*=* ]]; then\n"
  "    name=${${_rm_cur%%=*}#--}\n"
  "    _rm_prefix=\"${_rm_cur%%=*}=\" _rm_cur=${_rm_cur#*=} _rm_how=-\n"
  "    if __releasemanager_opt \"$_rm_verb\" \"$name\" ''; then _rm_how=$_rm_compl\n"
  "    elif [[ -n $_rm_backend ]]; then\n"
  "      __releasemanager_keys \"$_rm_backend\"\n"
  "      __releasemanager_key \"$name\" && _rm_how=$_rm_compl\n"
  "    fi\n"
  "  elif [[ -z $dashdash && $_rm_cur == -* ]]; then\n"
  "    _rm_how=options\n"
  "  elif [[ -z $_rm_verb ]]; then\n"
  "    _rm_how=command\n"
  "  else\n"
  "    __releasemanager_slot \"$_rm_verb\" $nops\n"
  "    _rm_how=$_rm_compl\n"
  "  fi\n"
  "  [[ $_rm_how == flag ]] && _rm_how=-\n"
  "  return 0\n"
  "}\n"
  "\n"
  "# __releasemanager_candidates: the words to offer for _rm_how, as \"word:description\".\n"
  "__releasemanager_candidates () {\n"
  "  local line v\n"
  "  local -a f\n"
  "  reply=()\n"
  "  case $_rm_how in\n"
  "    options)\n"
  "      for line in \"${(@f)_releasemanager_spec}\"; do\n"
  "        f=(\"${(@ps:\\t:)line}\")\n"
  "        [[ $f[1] == opt && ( $f[2] == '*' || $f[2] == \"$_rm_verb\" ) ]] || continue\n"
  "        reply+=(\"--$f[3]:$f[7]\")\n"
  "        [[ $f[4] != - ]] && reply+=(\"-$f[4]:$f[7]\")\n"
  "      done\n"
  "      if [[ -n $_rm_backend ]]; then\n"
  "        __releasemanager_keys \"$_rm_backend\"\n"
  "        for line in \"${(@f)_rm_keys}\"; do\n"
  "          f=(\"${(@ps:\\t:)line}\")\n"
  "          [[ -n $f[1] ]] && reply+=(\"--$f[1]:$f[3]\")\n"
  "        done\n"
  "      fi ;;\n"
  "    command)\n"
  "      for line in \"${(@f)_releasemanager_spec}\"; do\n"
  "        f=(\"${(@ps:\\t:)line}\")\n"
  "        [[ $f[1] == verb ]] && reply+=(\"$f[2]:$f[4]\")\n"
  "      done ;;\n"
  "    backend)\n"
  "      for v in ${(f)\"$(\"$_rm_cmd\" \"${_rm_extra[@]}\" completion __backends "
  "2>/dev/null)\"}; do\n"
  "        reply+=(\"$v:backend\")\n"
  "      done ;;\n"
  "    enum=*)\n"
  "      for v in ${(s:|:)${_rm_how#enum=}}; do reply+=(\"$v\"); done ;;\n"
  "    *'|'*)\n"
  "      for v in ${(s:|:)_rm_how}; do reply+=(\"$v\"); done ;;\n"
  "  esac\n"
  "}\n"
  "\n"
  "_releasemanager () {\n"
  "  local _rm_verb _rm_backend _rm_keys _rm_cmd _rm_cur _rm_how _rm_prefix\n"
  "  local _rm_long _rm_arg _rm_compl\n"
  "  local -a _rm_extra reply\n"
  "  __releasemanager_compute\n"
  "  [[ -n $_rm_prefix ]] && compset -P '*='\n"
  "  case $_rm_how in\n"
  "    file|path) _files ;;\n"
  "    dir) _files -/ ;;\n"
  "    -) return 1 ;;\n"
  "    *) __releasemanager_candidates\n"
  "       _describe -t values 'releasemanager' reply ;;\n"
  "  esac\n"
  "}\n"
  "\n"
  "if [[ $funcstack[1] == _releasemanager ]]; then\n"
  "  _releasemanager \"$@\"\n"
  "elif (( $+functions[compdef] )); then\n"
  "  compdef _releasemanager releasemanager\n"
  "fi\n";

/* ---- fish ------------------------------------------------------------------------ */
static const char fish_head[] =
  "# fish completion for releasemanager\n"
  "# Generated by `releasemanager completion fish` from the program's option tables.\n"
  "# This shell only:   releasemanager completion fish | source\n"
  "# Every new shell:   releasemanager completion fish > "
  "~/.config/fish/completions/releasemanager.fish\n";

static const char fish_driver[] =
  "function __releasemanager_opt --description 'set _rm_long _rm_arg _rm_compl of an option'\n"
  "    for want in $argv[1] '*'\n"
  "        for line in $_releasemanager_spec\n"
  "            set -l f (string split \\t -- $line)\n"
  "            test \"$f[1]\" = opt -a \"$f[2]\" = \"$want\"; or continue\n"
  "            if test -n \"$argv[2]\" -a \"$f[3]\" = \"$argv[2]\"; "
  "or test -n \"$argv[3]\" -a \"$f[4]\" = \"$argv[3]\"\n"
  "                set -g _rm_long $f[3]; set -g _rm_arg $f[5]; set -g _rm_compl $f[6]\n"
  "                return 0\n"
  "            end\n"
  "        end\n"
  "    end\n"
  "    return 1\n"
  "end\n"
  "\n"
  "function __releasemanager_keys\n"
  "    test -n \"$_rm_keys\"; or set -g _rm_keys ($_rm_cmd $_rm_extra completion __options "
  "$argv[1] 2>/dev/null)\n"
  "end\n"
  "\n"
  "function __releasemanager_key\n"
  "    for line in $_rm_keys\n"
  "        set -l f (string split \\t -- $line)\n"
  "        if test -n \"$f[1]\" -a \"$f[1]\" = \"$argv[1]\"\n"
  "            set -g _rm_compl $f[2]\n"
  "            return 0\n"
  "        end\n"
  "    end\n"
  "    return 1\n"
  "end\n"
  "\n"
  "function __releasemanager_slot\n"
  "    set -g _rm_compl -\n"
  "    for line in $_releasemanager_spec\n"
  "        set -l f (string split \\t -- $line)\n"
  "        test \"$f[1]\" = verb -a \"$f[2]\" = \"$argv[1]\"; or continue\n"
  "        set -l s (string split ' ' -- $f[3])\n"
  "        set -l n (math $argv[2] + 1)\n"
  "        if test $n -le (count $s); and test \"$s[$n]\" != -\n"
  "            set -g _rm_compl $s[$n]\n"
  "        end\n"
  "        return 0\n"
  "    end\n"
  "end\n"
  "\n"
  "function __releasemanager_values --description 'candidates for a value'\n"
  "    set -l how $argv[1]\n"
  "    set -l cur $argv[2]\n"
  "    set -l prefix $argv[3]\n"
  "    switch $how\n"
  "        case file path\n"
  "            __fish_complete_path $cur\n"
  "        case dir\n"
  "            __fish_complete_directories $cur\n"
  "        case backend\n"
  "            $_rm_cmd $_rm_extra completion __backends 2>/dev/null\n"
  "        case command\n"
  "            for line in $_releasemanager_spec\n"
  "                set -l f (string split \\t -- $line)\n"
  "                test \"$f[1]\" = verb; and printf '%s\\t%s\\n' $f[2] $f[4]\n"
  "            end\n"
  "        case 'enum=*'\n"
  "            string split '|' -- (string replace 'enum=' '' -- $how)\n"
  "        case '*|*'\n"
  "            string split '|' -- $how\n"
  "    end | string replace -r -- '^' \"$prefix\"\n"
  "end\n"
  "\n"
  "function __releasemanager_complete --description 'complete the releasemanager line'\n"
  "    set -l words (commandline -opc)\n"
  "    set -l cur (commandline -ct)\n"
  "    set -g _rm_cmd $words[1]\n"
  "    set -g _rm_extra\n"
  "    set -g _rm_keys\n"
  "    set -l verb; set -l backend; set -l pending; set -l dashdash; set -l nops 0\n"
  "    for w in $words[2..-1]\n"
  "        if test -n \"$pending\"\n"
  "            switch $pending\n"
  "                case config plugin-dir\n"
  "                    set -a _rm_extra --$pending $w\n"
  "                case backend\n"
  "                    set backend $w\n"
  "            end\n"
  "            set pending\n"
  "            continue\n"
  "        end\n"
  "        if test -z \"$dashdash\"\n"
  "            switch $w\n"
  "                case --\n"
  "                    set dashdash 1; continue\n"
  "                case '--*=*'\n"
  "                    set -l name (string replace -r '^--([^=]*)=.*' '$1' -- $w)\n"
  "                    switch $name\n"
  "                        case config plugin-dir\n"
  "                            set -a _rm_extra $w\n"
  "                        case backend\n"
  "                            set backend (string replace -r '^[^=]*=' '' -- $w)\n"
  "                    end\n"
  "                    continue\n"
  "                case '--*'\n"
  "                    set -l name (string sub -s 3 -- $w)\n"
  "                    if __releasemanager_opt \"$verb\" $name ''\n"
  "                        test \"$_rm_arg\" = value; and set pending $name\n"
  "                    else if test -n \"$backend\"\n"
  "                        __releasemanager_keys $backend\n"
  "                        if __releasemanager_key $name; and test \"$_rm_compl\" != flag\n"
  "                            set pending $name\n"
  "                        end\n"
  "                    end\n"
  "                    continue\n"
  "                case '-?'\n"
  "                    if __releasemanager_opt \"$verb\" '' (string sub -s 2 -- $w); "
  "and test \"$_rm_arg\" = value\n"
  "                        set pending $_rm_long\n"
  "                    end\n"
  "                    continue\n"
  "                case '-*'\n"
  "                    continue\n"
  "            end\n"
  "        end\n"
  "        if test -z \"$verb\"\n"
  "            set verb $w\n"
  "        else\n"
  "            __releasemanager_slot $verb $nops\n"
  "            test \"$_rm_compl\" = backend; and set backend $w\n"
  "            set nops (math $nops + 1)\n"
  "        end\n"
  "    end\n"
  "    if test -n \"$pending\"\n"
  "        if __releasemanager_opt \"$verb\" $pending ''\n"
  "            __releasemanager_values $_rm_compl $cur ''\n"
  "        else if __releasemanager_key $pending\n"
  "            __releasemanager_values $_rm_compl $cur ''\n"
  "        end\n"
  "        return 0\n"
  "    end\n"
  "    if test -z \"$dashdash\"; and string match -q -- '--*=*' $cur\n"
  "        set -l name (string replace -r '^--([^=]*)=.*' '$1' -- $cur)\n"
  "        set -l value (string replace -r '^[^=]*=' '' -- $cur)\n"
  "        set -g _rm_compl -\n"
  "        if not __releasemanager_opt \"$verb\" $name ''; and test -n \"$backend\"\n"
  "            __releasemanager_keys $backend\n"
  "            __releasemanager_key $name; or set -g _rm_compl -\n"
  "        end\n"
  "        __releasemanager_values $_rm_compl $value \"--$name=\"\n"
  "        return 0\n"
  "    end\n"
  "    if test -z \"$dashdash\"; and string match -q -- '-*' $cur\n"
  "        for line in $_releasemanager_spec\n"
  "            set -l f (string split \\t -- $line)\n"
  "            test \"$f[1]\" = opt; or continue\n"
  "            test \"$f[2]\" = '*' -o \"$f[2]\" = \"$verb\"; or continue\n"
  "            printf '%s\\t%s\\n' --$f[3] $f[7]\n"
  "            test \"$f[4]\" != -; and printf '%s\\t%s\\n' -$f[4] $f[7]\n"
  "        end\n"
  "        if test -n \"$backend\"\n"
  "            __releasemanager_keys $backend\n"
  "            for line in $_rm_keys\n"
  "                set -l f (string split \\t -- $line)\n"
  "                test -n \"$f[1]\"; and printf '%s\\t%s\\n' --$f[1] $f[3]\n"
  "            end\n"
  "        end\n"
  "        return 0\n"
  "    end\n"
  "    if test -z \"$verb\"\n"
  "        __releasemanager_values command $cur ''\n"
  "    else\n"
  "        __releasemanager_slot $verb $nops\n"
  "        __releasemanager_values $_rm_compl $cur ''\n"
  "    end\n"
  "end\n"
  "\n"
  "complete -c releasemanager -e\n"
  "complete -c releasemanager -f -a '(__releasemanager_complete)'\n";

static void
print_script (FILE *f, const char *shell, const struct cmd_program *prog)
{
  char *spec = completion_spec (prog);
  bool fish = strcmp (shell, "fish") == 0;
  if (strcmp (shell, "bash") == 0)
    fputs (bash_head, f);
  else if (fish)
    fputs (fish_head, f);
  else
    fputs (zsh_head, f);
  fprintf (f, "# %s %s\n\n", PACKAGE_NAME, PACKAGE_VERSION);
  if (fish) {
    /* One list element per line. */
    fputs ("set -g _releasemanager_spec", f);
    for (char *line = spec, *nl; *line; line = nl + 1) {
      nl = strchr (line, '\n');
      *nl = 0;
      fputs (" \\\n    ", f);
      put_quoted (f, line, true);
    }
    fputs ("\n\n", f);
    fputs (fish_driver, f);
  }
  else {
    fputs ("_releasemanager_spec=", f);
    put_quoted (f, spec, false);
    fputs ("\n\n", f);
    fputs (strcmp (shell, "bash") == 0 ? bash_driver : zsh_driver, f);
  }
  free (spec);
}

/* `completion __options NAME`: one line per option of backend NAME and per alias:
 * NAME, how its value completes (flag, file or value), its help. */
static int
print_backend_options (struct cli *c, const char *name)
{
  struct strlist dirs = STRLIST_INIT;
  cli_plugin_dirs (c, &dirs);
  struct rm_error err;
  struct plugin *p = plugin_find (name, &dirs, &err);
  strlist_free (&dirs);
  if (!p) {
    log_error ("%s", err.message);
    return EXIT_ERROR;
  }
  for (size_t k = 0; k < p->nkeys; k++) {
    const struct rm_config_key *key = &p->keys[k];
    const char *kind = key->type == RM_KEY_BOOL ? "flag" : key->type == RM_KEY_PATH ? "file"
                       : "value";
    struct strlist names = STRLIST_INIT;
    strlist_push (&names, key->name);
    if (key->aliases)
      strlist_push_split (&names, key->aliases, ',');
    for (size_t i = 0; i < names.n; i++)
      printf ("%s\t%s\t%s\n", names.items[i], kind, key->help);
    strlist_free (&names);
  }
  plugin_unload (p);
  return EXIT_OK;
}

static int
run_completion (struct cmd_ctx *x)
{
  struct cli *c = x->cli;
  const struct strlist *pos = &c->positional;
  if (c->pending.n) {
    log_error ("completion: unknown option '--%s'", c->pending.items[0].key);
    return EXIT_USAGE;
  }
  if (pos->n == 1 && strcmp (pos->items[0], "__backends") == 0) {
    size_t n;
    struct plugin **p = cmd_plugins_found (c, &n);
    for (size_t i = 0; i < n; i++)
      printf ("%s\n", p[i]->desc.name);
    cmd_plugins_free (p, n);
    return EXIT_OK;
  }
  if (pos->n == 2 && strcmp (pos->items[0], "__options") == 0)
    return print_backend_options (c, pos->items[1]);
  if (pos->n != 1) {
    log_error ("completion: %s (usage: releasemanager completion bash|zsh|fish)",
               pos->n ? "one shell expected" : "which shell?");
    return EXIT_USAGE;
  }
  for (size_t i = 0; i < ARRAY_SIZE (shells); i++)
    if (strcmp (pos->items[0], shells[i]) == 0) {
      print_script (stdout, shells[i], x->program);
      return fflush (stdout) == 0 ? EXIT_OK : EXIT_ERROR;
    }
  log_error ("completion: '%s' is not a shell this completes (use bash, zsh or fish)",
             pos->items[0]);
  return EXIT_USAGE;
}

const struct command cmd_completion = {
  "completion",
  "print a completion script for bash, zsh or fish",
  "bash|zsh|fish",
  "Prints a script that completes releasemanager's commands, options, option values\n"
  "(file names, formats, drivers) and backend names and options in the shell; backends\n"
  "are looked up when you press Tab, so plugins installed later complete too.\n"
  "\n"
  "bash: `source <(releasemanager completion bash)` in ~/.bashrc, or once:\n"
  "  releasemanager completion bash > ~/.local/share/bash-completion/completions/releasemanager\n"
  "  (for every user: /usr/share/bash-completion/completions/ or /etc/bash_completion.d/)\n"
  "zsh: `source <(releasemanager completion zsh)` in ~/.zshrc after compinit, or once:\n"
  "  releasemanager completion zsh > \"${fpath[1]}/_releasemanager\"\n"
  "fish: `releasemanager completion fish | source`, or once:\n"
  "  releasemanager completion fish > ~/.config/fish/completions/releasemanager.fish",
  NULL,
  0,
  CMD_ANY_OPERANDS,
  NULL,
  NULL,
  run_completion,
  NULL,
};
