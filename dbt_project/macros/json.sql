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


{#- One row per element of the JSON array at `array_path`: two set-returning expressions for one
    select list, in lockstep (DuckDB zips unnests of equal length; PostgreSQL runs set-returning
    functions of one select list in lockstep), so each element comes with its position in the
    array, from 0. A missing, null or non-array value gives no row. The element is JSON; read its
    fields with json_text(element, 'field').
    select record_id,
        {{ json_array_elements('payload', ['propertiesWithHistory', 'lifecyclestage']) }} as version,
        {{ json_array_positions('payload', ['propertiesWithHistory', 'lifecyclestage']) }} as position -#}
{% macro json_array_elements(column, array_path) -%}
    {{ return(adapter.dispatch('json_array_elements', 'leadflow')(column, leadflow._json_path_parts(array_path))) }}
{%- endmacro %}

{% macro json_array_positions(column, array_path) -%}
    {{ return(adapter.dispatch('json_array_positions', 'leadflow')(column, leadflow._json_path_parts(array_path))) }}
{%- endmacro %}

{% macro _duckdb_json_array(column, array_path) -%}
    case when json_type({{ column }}, '$
    {%- for part in array_path -%}
        {%- if part is number -%}[{{ part }}]{%- else -%}."{{ part }}"{%- endif -%}
    {%- endfor -%}
    ') = 'ARRAY' then json_extract({{ column }}, '$
    {%- for part in array_path -%}
        {%- if part is number -%}[{{ part }}]{%- else -%}."{{ part }}"{%- endif -%}
    {%- endfor -%}
    ') end
{%- endmacro %}

{% macro duckdb__json_array_elements(column, array_path) -%}
    unnest(json_extract({{ leadflow._duckdb_json_array(column, array_path) }}, '$[*]'))
{%- endmacro %}

{% macro duckdb__json_array_positions(column, array_path) -%}
    unnest(range(cast(coalesce(json_array_length({{ leadflow._duckdb_json_array(column, array_path) }}), 0) as bigint)))
{%- endmacro %}

{% macro _postgres_json_array(column, array_path) -%}
    (case when jsonb_typeof(cast({{ column }} as jsonb) #> '{ {{- array_path | join(',') -}} }') = 'array'
        then cast({{ column }} as jsonb) #> '{ {{- array_path | join(',') -}} }' end)
{%- endmacro %}

{% macro postgres__json_array_elements(column, array_path) -%}
    jsonb_array_elements({{ leadflow._postgres_json_array(column, array_path) }})
{%- endmacro %}

{% macro postgres__json_array_positions(column, array_path) -%}
    generate_series(0, coalesce(jsonb_array_length({{ leadflow._postgres_json_array(column, array_path) }}), 0) - 1)
{%- endmacro %}

{% macro default__json_array_elements(column, array_path) -%}
    {{ exceptions.raise_compiler_error(
        "json_array_elements has no implementation for the " ~ adapter.type() ~ " adapter: add "
        ~ adapter.type() ~ "__json_array_elements to macros/json.sql") }}
{%- endmacro %}

{% macro default__json_array_positions(column, array_path) -%}
    {{ exceptions.raise_compiler_error(
        "json_array_positions has no implementation for the " ~ adapter.type() ~ " adapter: add "
        ~ adapter.type() ~ "__json_array_positions to macros/json.sql") }}
{%- endmacro %}
