{#
    Cross-database JSON access for the raw payloads (DuckDB `json`, PostgreSQL `json`/`jsonb`).
    Add an `<adapter>__` implementation here to run the project on another warehouse.
#}

{#- The value at `path_parts` (a key, or a list of keys and array indexes) as text; JSON null and
    missing keys give SQL null. json_text('payload', ['properties', 'email']) -#}
{% macro json_text(column, path_parts) -%}
    {{ return(adapter.dispatch('json_text', 'leadflow')(column, leadflow._json_path_parts(path_parts))) }}
{%- endmacro %}

{% macro duckdb__json_text(column, path_parts) -%}
    json_extract_string({{ column }}, '$
    {%- for part in path_parts -%}
        {%- if part is number -%}[{{ part }}]{%- else -%}."{{ part }}"{%- endif -%}
    {%- endfor -%}
    ')
{%- endmacro %}

{% macro postgres__json_text(column, path_parts) -%}
    (cast({{ column }} as jsonb) #>> '{ {{- path_parts | join(',') -}} }')
{%- endmacro %}

{% macro default__json_text(column, path_parts) -%}
    {{ exceptions.raise_compiler_error(
        "json_text has no implementation for the " ~ adapter.type() ~ " adapter: add "
        ~ adapter.type() ~ "__json_text to macros/json.sql") }}
{%- endmacro %}


{#- One row per element of a JSON array of strings: a set-returning expression for a select list.
    select source, {{ json_text_elements('reasons') }} as reason from quarantine -#}
{% macro json_text_elements(column) -%}
    {{ return(adapter.dispatch('json_text_elements', 'leadflow')(column)) }}
{%- endmacro %}

{% macro duckdb__json_text_elements(column) -%}
    unnest(json_extract_string({{ column }}, '$[*]'))
{%- endmacro %}

{% macro postgres__json_text_elements(column) -%}
    json_array_elements_text(cast({{ column }} as json))
{%- endmacro %}

{% macro default__json_text_elements(column) -%}
    {{ exceptions.raise_compiler_error(
        "json_text_elements has no implementation for the " ~ adapter.type() ~ " adapter: add "
        ~ adapter.type() ~ "__json_text_elements to macros/json.sql") }}
{%- endmacro %}


{#- Path parts are interpolated into SQL, so only plain keys and integer indexes are allowed. -#}
{% macro _json_path_parts(path_parts) -%}
    {%- set parts = [path_parts] if path_parts is string or path_parts is number else path_parts -%}
    {%- for part in parts -%}
        {%- if part is not number and not modules.re.fullmatch('[A-Za-z0-9_]+', part | string) -%}
            {{ exceptions.raise_compiler_error("json path part " ~ part ~ " must be a plain key or an array index") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(parts) }}
{%- endmacro %}


{#- One row per element of a JSON array of objects, giving one field of each element as text: a
    set-returning expression for a select list. Elements without the field give null.
    select record_id, {{ json_array_field_elements('payload', ['associations', 'contacts'], 'toObjectId') }} -#}
{% macro json_array_field_elements(column, array_path, field) -%}
    {{ return(adapter.dispatch('json_array_field_elements', 'leadflow')(column, leadflow._json_path_parts(array_path), leadflow._json_path_parts(field)[0])) }}
{%- endmacro %}

{% macro duckdb__json_array_field_elements(column, array_path, field) -%}
    unnest(json_extract_string({{ column }}, '$
    {%- for part in array_path -%}
        {%- if part is number -%}[{{ part }}]{%- else -%}."{{ part }}"{%- endif -%}
    {%- endfor -%}
    [*]."{{ field }}"'))
{%- endmacro %}

{% macro postgres__json_array_field_elements(column, array_path, field) -%}
    (jsonb_array_elements(cast({{ column }} as jsonb) #> '{ {{- array_path | join(',') -}} }') ->> '{{ field }}')
{%- endmacro %}

{% macro default__json_array_field_elements(column, array_path, field) -%}
    {{ exceptions.raise_compiler_error(
        "json_array_field_elements has no implementation for the " ~ adapter.type() ~ " adapter: add "
        ~ adapter.type() ~ "__json_array_field_elements to macros/json.sql") }}
{%- endmacro %}
