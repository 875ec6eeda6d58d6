/**
 * Browser source of `createLiveFetcher(url, fallback)` for the GraphiQL page: a subscription goes to `url` as a
 * graphql-sse request (distinct connections mode: `POST` with `Accept: text/event-stream`) and GraphiQL gets an async
 * iterable of its `next` payloads; anything else goes to `fallback` (GraphiQL's own fetcher).
 *
 * Why not `GraphiQL.createFetcher({ subscriptionUrl })`: that needs the graphql-ws client, which the UMD bundle does
 * not carry, and the page loads nothing from another host. The event stream needs only `fetch`.
 */
export const SUBSCRIPTION_FETCHER_SCRIPT = String.raw`
function createLiveFetcher(url, fallback) {
  // The definitions of a document, from the outermost tokens (no parser in the page): { kind, name } each.
  function scanDefinitions(text) {
    var tokens = text
      .replace(/"""[\s\S]*?"""/g, '""')
      .replace(/"(?:\\.|[^"\\\n\r])*"/g, '""')
      .replace(/#[^\n\r]*/g, ' ')
      .match(/[{}()@]|[_A-Za-z][_0-9A-Za-z]*/g) || [];
    var definitions = [], current = null, depth = 0, directive = false;
    for (var i = 0; i < tokens.length; i++) {
      var t = tokens[i];
      if (t === '{' || t === '(') {
        if (t === '{' && depth === 0 && !current) current = { kind: 'query', name: null };
        depth++;
      } else if (t === '}' || t === ')') {
        depth--;
        if (t === '}' && depth === 0 && current) { definitions.push(current); current = null; }
      } else if (depth === 0) {
        if (t === '@') directive = true;
        else if (directive) directive = false;
        else if (!current) current = { kind: t, name: null };
        else if (current.name === null) current.name = t;
      }
    }
    return definitions;
  }

  // 'query', 'mutation' or 'subscription': the operation GraphiQL runs (by its name, or the only one).
  function operationKind(params, documentAST) {
    var operations = documentAST && documentAST.definitions
      ? documentAST.definitions
          .filter(function (d) { return d.kind === 'OperationDefinition'; })
          .map(function (d) { return { kind: d.operation, name: d.name ? d.name.value : null }; })
      : scanDefinitions(params.query || '').filter(function (d) {
          return d.kind === 'query' || d.kind === 'mutation' || d.kind === 'subscription';
        });
    var chosen = params.operationName
      ? operations.filter(function (o) { return o.name === params.operationName; })[0]
      : operations.length === 1 ? operations[0] : undefined;
    return chosen ? chosen.kind : undefined;
  }

  // The async iterable GraphiQL renders: one ExecutionResult per "next" message, done at "complete".
  function eventStream(response, controller) {
    var reader = response.body.getReader(), decoder = new TextDecoder();
    var buffer = '', queue = [], done = false;
    function take(block) {
      var event = 'message', data = [];
      block.split('\n').forEach(function (line) {
        if (line === '' || line[0] === ':') return;
        var colon = line.indexOf(':');
        var field = colon < 0 ? line : line.slice(0, colon);
        var value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      });
      if (event === 'next' && data.length) queue.push(JSON.parse(data.join('\n')));
      else if (event === 'complete') stop();
    }
    // Cancelling the reader settles a pending read; aborting ends the request.
    function stop() {
      done = true;
      reader.cancel().catch(function () {});
      controller.abort();
    }
    var iterator = {
      next: async function () {
        for (;;) {
          if (queue.length) return { value: queue.shift(), done: false };
          if (done) return { value: undefined, done: true };
          var chunk;
          try {
            chunk = await reader.read();
          } catch (err) {
            if (controller.signal.aborted) { done = true; continue; }
            throw err;
          }
          if (chunk.done) { done = true; continue; }
          buffer = (buffer + decoder.decode(chunk.value, { stream: true })).replace(/\r\n/g, '\n');
          for (var end = buffer.indexOf('\n\n'); end >= 0 && !done; end = buffer.indexOf('\n\n')) {
            take(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      },
      // GraphiQL's stop button: end the request, so the server ends the subscription.
      return: async function () {
        queue.length = 0;
        stop();
        return { value: undefined, done: true };
      },
    };
    // GraphiQL unsubscribes with value[Symbol.asyncIterator]().return(): it must be this same iterator.
    iterator[Symbol.asyncIterator] = function () { return iterator; };
    return iterator;
  }

  async function subscribe(params, headers) {
    var controller = new AbortController();
    var requestHeaders = new Headers(headers || {});
    requestHeaders.set('content-type', 'application/json');
    requestHeaders.set('accept', 'text/event-stream');
    var response = await fetch(url, {
      method: 'POST',
      headers: requestHeaders,
      body: JSON.stringify({ query: params.query, variables: params.variables, operationName: params.operationName }),
      signal: controller.signal,
    });
    if (response.ok && /text\/event-stream/i.test(response.headers.get('content-type') || '')) {
      return eventStream(response, controller);
    }
    // Refused before it started (400, 401, 403): the answer's errors, as for a query.
    var text = await response.text();
    try {
      var body = JSON.parse(text);
      if (body && body.errors) return body;
    } catch (err) {}
    return { errors: [{ message: 'HTTP ' + response.status + ' ' + response.statusText + ': ' + text.slice(0, 500) }] };
  }

  return function (params, options) {
    if (operationKind(params, options && options.documentAST) === 'subscription') {
      return subscribe(params, options && options.headers);
    }
    return fallback(params, options);
  };
}
`;
