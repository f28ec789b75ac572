import { describe, expect, it } from "vitest";
import { ec2ErrorResponse, ec2Response, QueryParams, signedRegion, toXml } from "./xml.js";

describe("the EC2 stand-in's Query and XML pieces", () => {
  it("reads flattened lists, members and tags", () => {
    const p = new QueryParams(new URLSearchParams("Action=DescribeImages&ImageId.1=ami-1&ImageId.2=ami-2&Filter.1.Name=name&Filter.1.Value.1=a*&Tag.1.Key=k&Tag.1.Value=v"));
    expect(p.list("ImageId")).toEqual(["ami-1", "ami-2"]);
    expect(p.members("Filter").map((f) => [f.get("Name"), f.list("Value")])).toEqual([["name", ["a*"]]]);
    expect(p.tags()).toEqual([{ key: "k", value: "v" }]);
    expect(p.list("Owner")).toEqual([]);
  });

  it("writes EC2's namespaced responses, item lists and escaped text", () => {
    expect(toXml({ a: [{ b: "x<y" }], c: undefined, d: true })).toBe("<a><item><b>x&lt;y</b></item></a><d>true</d>");
    expect(ec2Response("CreateTags", "r1", { return: true })).toContain('<CreateTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r1</requestId><return>true</return></CreateTagsResponse>');
    expect(ec2ErrorResponse("InvalidAMIID.NotFound", "no & such", "r2")).toContain("<Errors><Error><Code>InvalidAMIID.NotFound</Code><Message>no &amp; such</Message></Error></Errors><RequestID>r2</RequestID>");
  });

  it("takes the region from the SigV4 credential scope", () => {
    expect(signedRegion("AWS4-HMAC-SHA256 Credential=AKID/20261126/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=00")).toBe("eu-west-1");
    expect(signedRegion(undefined)).toBeUndefined();
  });
});
